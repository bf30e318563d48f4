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
 * an entry that is not .npy, an unsupported or big-endian dtype, Fortran order, truncated data, duplicate names.
 */
public final class NpzArchive {

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

    /** Reads an .npz archive from a stream (the stream is read to its end, not closed). */
    public static NpzArchive read(InputStream stream) {
        BufferedInputStream in = new BufferedInputStream(stream);
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
                    NdArray array = NpyFormat.read(name, zip.readAllBytes());
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
