package dev.quantflow.runtime.npz;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * A NumPy {@code .npz} archive held in memory: a zip (entries stored or deflated, as written by {@code np.savez} and
 * {@code np.savez_compressed}) whose entries {@code <name>.npy} are arrays in the {@link NpyFormat .npy format}.
 * Arrays keep the order of the file. Immutable.
 *
 * <p>Reading fails with a {@link DatasetException} whose message tells the user how to fix the file: not a zip,
 * an entry that is not .npy, an unsupported or big-endian dtype, Fortran order, truncated data, duplicate names, or
 * an archive that inflates past its {@link Limits} (a zip bomb, or more data than this process can hold).
 */
public final class NpzArchive {

    /**
     * How far an archive may inflate: {@code maxInflatedBytes} in all (no array can exceed a Java array either), and,
     * once past {@code ratioFloorBytes}, at most {@code maxRatio} inflated bytes per compressed byte read.
     * Real arrays rarely deflate beyond ~100:1 (constant padding does; hence the floor), a crafted entry deflates
     * ~1000:1, so a 4 MB upload cannot make the reader allocate gigabytes.
     */
    public record Limits(long maxInflatedBytes, double maxRatio, long ratioFloorBytes) {

        public Limits {
            if (maxInflatedBytes < 1 || !(maxRatio > 1) || ratioFloorBytes < 0) {
                throw new IllegalArgumentException("bad npz limits " + maxInflatedBytes + ", " + maxRatio + ", "
                    + ratioFloorBytes);
            }
        }

        /** Half of this JVM's max heap (at most 2 GiB), ratio 1000 past 64 MiB. */
        public static Limits defaults() {
            long half = Runtime.getRuntime().maxMemory() / 2;
            return new Limits(Math.min(half, Integer.MAX_VALUE - 64L), 1000, 64L << 20);
        }
    }

    private final Map<String, NdArray> arrays;

    private NpzArchive(Map<String, NdArray> arrays) {
        this.arrays = Collections.unmodifiableMap(arrays);
    }

    /** An archive of the given arrays (names must be unique). */
    public static NpzArchive of(Collection<NdArray> arrays) {
        Map<String, NdArray> m = new LinkedHashMap<>();
        for (NdArray a : arrays) {
            if (m.put(a.name(), a) != null) {
                throw new DatasetException("two arrays are named '" + a.name() + "'");
            }
        }
        return new NpzArchive(m);
    }

    /** Reads an .npz file. */
    public static NpzArchive read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Reads an .npz archive from a stream (the stream is read to its end, not closed), within {@link Limits#defaults()}. */
    public static NpzArchive read(InputStream stream) {
        return read(stream, Limits.defaults());
    }

    /** Reads an .npz archive from a stream (the stream is read to its end, not closed). */
    public static NpzArchive read(InputStream stream, Limits limits) {
        CountingInputStream raw = new CountingInputStream(stream);
        BufferedInputStream in = new BufferedInputStream(raw);
        try {
            in.mark(8);
            byte[] head = in.readNBytes(6);
            in.reset();
            if (NpyFormat.startsWithMagic(head)) {
                throw new DatasetException("the data file is a single .npy array, not an .npz archive; save the arrays with "
                    + "np.savez_compressed('data.npz', input=x, labels=y)");
            }
            if (head.length < 4 || head[0] != 'P' || head[1] != 'K') {
                throw new DatasetException("the data file is not an .npz archive (not a zip file); save the arrays with "
                    + "np.savez_compressed('data.npz', input=x, labels=y)");
            }
            Map<String, NdArray> arrays = new LinkedHashMap<>();
            long inflated = 0;
            try (ZipInputStream zip = new ZipInputStream(in)) {
                ZipEntry entry;
                while ((entry = zip.getNextEntry()) != null) {
                    if (entry.isDirectory()) {
                        continue;
                    }
                    String entryName = entry.getName();
                    if (!entryName.endsWith(".npy")) {
                        throw new DatasetException("the .npz archive holds '" + entryName + "', which is not a .npy array; "
                            + "an .npz file must contain only arrays (np.savez)");
                    }
                    String name = entryName.substring(0, entryName.length() - 4);
                    byte[] bytes = readBounded(zip, raw, entry, inflated, limits);
                    inflated += bytes.length;
                    NdArray array = NpyFormat.read(name, bytes);
                    if (arrays.put(name, array) != null) {
                        throw new DatasetException("the .npz archive holds two arrays named '" + name + "'");
                    }
                }
            }
            if (arrays.isEmpty()) {
                throw new DatasetException("the .npz archive contains no arrays");
            }
            return new NpzArchive(arrays);
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DatasetException("the .npz archive is damaged or truncated (" + e.getMessage() + "); re-save the file", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The entry's bytes, read in chunks while counting: refused as soon as the archive's inflated total would pass
     * the limit, or (past the floor) exceeds the ratio times the compressed bytes read so far.
     */
    private static byte[] readBounded(ZipInputStream zip, CountingInputStream raw, ZipEntry entry, long before,
                                      Limits limits) throws IOException {
        String name = entry.getName();
        long room = limits.maxInflatedBytes() - before;
        if (entry.getSize() > room) {
            throw tooLarge(name, limits);
        }
        // Never more than the declared size (numpy writes it) or the room left; allocated in steps from 64 MiB, so a
        // crafted size claim allocates nothing the compressed bytes do not back (the ratio check runs as data comes).
        long cap = entry.getSize() >= 0 ? entry.getSize() : room;
        byte[] buf = new byte[(int) Math.min(cap, 64L << 20)];
        int size = 0;
        while (true) {
            if (size == buf.length) {
                if (buf.length == cap) {
                    if (zip.read() < 0) {
                        break;
                    }
                    if (entry.getSize() >= 0) {
                        throw new DatasetException("the .npz entry '" + name + "' holds more bytes than its declared size"
                            + " (" + entry.getSize() + "): the archive is damaged; re-save the file");
                    }
                    throw tooLarge(name, limits);
                }
                buf = java.util.Arrays.copyOf(buf, (int) Math.min(cap, Math.max(buf.length * 2L, 1 << 16)));
            }
            int n = zip.read(buf, size, buf.length - size);
            if (n < 0) {
                break;
            }
            size += n;
            // Compressed bytes consumed so far include the readers' look-ahead, so the ratio errs on the safe side.
            long total = before + size;
            long compressed = Math.max(1, raw.count);
            if (total > limits.ratioFloorBytes() && total > limits.maxRatio() * compressed) {
                throw new DatasetException("the .npz archive inflates more than " + (long) limits.maxRatio()
                    + " times its compressed size (" + mib(total) + " from " + mib(compressed) + " at '" + name
                    + "'): refused as a likely zip bomb");
            }
        }
        return size == buf.length ? buf : java.util.Arrays.copyOf(buf, size);
    }

    private static DatasetException tooLarge(String entry, Limits limits) {
        return new DatasetException("the .npz archive inflates to more than " + mib(limits.maxInflatedBytes())
            + " (at '" + entry + "'), more than this service accepts; send fewer samples or split the file");
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /** Counts the bytes read from the raw (compressed) stream. */
    private static final class CountingInputStream extends java.io.FilterInputStream {
        long count;

        CountingInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long k = super.skip(n);
            count += k;
            return k;
        }
    }

    /**
     * The first {@code maxRows} samples of the named arrays of an .npz archive, read from a stream without holding
     * the rest: each entry's data past those rows is decompressed and dropped, never stored. Arrays not named are
     * skipped; a named array the archive lacks is simply absent from the result. For a look at a dataset (e.g. a
     * few rows to run a model on) where reading it whole would cost its full size in memory.
     */
    public static NpzArchive readHead(InputStream stream, Collection<String> names, int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, was " + maxRows);
        }
        BufferedInputStream in = new BufferedInputStream(stream);
        try {
            in.mark(8);
            byte[] head = in.readNBytes(4);
            in.reset();
            if (head.length < 4 || head[0] != 'P' || head[1] != 'K') {
                throw new DatasetException("the data file is not an .npz archive (not a zip file); save the arrays with "
                    + "np.savez_compressed('data.npz', input=x, labels=y)");
            }
            Map<String, NdArray> arrays = new LinkedHashMap<>();
            try (ZipInputStream zip = new ZipInputStream(in)) {
                ZipEntry entry;
                while ((entry = zip.getNextEntry()) != null) {
                    String entryName = entry.getName();
                    if (entry.isDirectory() || !entryName.endsWith(".npy")) {
                        continue;
                    }
                    String name = entryName.substring(0, entryName.length() - 4);
                    if (names.contains(name) && !arrays.containsKey(name)) {
                        arrays.put(name, NpyFormat.readHead(name, zip, maxRows));
                    }
                }
            }
            return new NpzArchive(arrays);
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DatasetException("the .npz archive is damaged or truncated (" + e.getMessage() + "); re-save the file", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Array names in file order. */
    public List<String> names() {
        return new ArrayList<>(arrays.keySet());
    }

    public boolean contains(String name) {
        return arrays.containsKey(name);
    }

    public Optional<NdArray> get(String name) {
        return Optional.ofNullable(arrays.get(name));
    }

    /**
     * The named array.
     *
     * @throws DatasetException naming the arrays that are present, when it is absent
     */
    public NdArray array(String name) {
        NdArray a = arrays.get(name);
        if (a == null) {
            throw new DatasetException("the data file has no array '" + name + "'; it has " + names());
        }
        return a;
    }

    /** All arrays in file order. */
    public Collection<NdArray> arrays() {
        return arrays.values();
    }

    /** An archive with only the given arrays, each cut to rows {@code [from, to)}. */
    public NpzArchive slice(Collection<String> names, int from, int to) {
        Map<String, NdArray> m = new LinkedHashMap<>();
        for (String n : names) {
            m.put(n, array(n).slice(from, to));
        }
        return new NpzArchive(m);
    }

    @Override
    public String toString() {
        return "NpzArchive" + arrays.values();
    }
}
