package dev.quantflow.runtime.npz;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes arrays as an .npz archive that {@code np.load} reads: one {@code <name>.npy} entry per array (.npy
 * version 1.0), stored or deflated. Entry timestamps are fixed, so the same arrays always give the same bytes.
 */
public final class NpzWriter {

    private static final FileTime FIXED_TIME = FileTime.fromMillis(315532800000L); // 1980-01-01, the zip epoch

    private NpzWriter() {
    }

    /** Writes {@code arrays} to {@code file}, like {@code np.savez_compressed} when {@code compressed}. */
    public static void write(Path file, Collection<NdArray> arrays, boolean compressed) {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(out, arrays, compressed);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Writes {@code arrays} to {@code stream} (finished, not closed). */
    public static void write(OutputStream stream, Collection<NdArray> arrays, boolean compressed) {
        Set<String> names = new HashSet<>();
        try {
            ZipOutputStream zip = new ZipOutputStream(stream);
            for (NdArray a : arrays) {
                if (!names.add(a.name())) {
                    throw new IllegalArgumentException("two arrays are named '" + a.name() + "'");
                }
                byte[] npy = NpyFormat.write(a);
                ZipEntry e = new ZipEntry(a.name() + ".npy");
                e.setLastModifiedTime(FIXED_TIME);
                if (compressed) {
                    e.setMethod(ZipEntry.DEFLATED);
                } else {
                    CRC32 crc = new CRC32();
                    crc.update(npy);
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(npy.length);
                    e.setCompressedSize(npy.length);
                    e.setCrc(crc.getValue());
                }
                zip.putNextEntry(e);
                zip.write(npy);
                zip.closeEntry();
            }
            zip.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
