package dev.quantflow.runtime.npz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpzArchiveTest {

    private static NpzArchive resource(String name) throws IOException {
        try (InputStream in = NpzArchiveTest.class.getResourceAsStream("/npz/" + name)) {
            return NpzArchive.read(in);
        }
    }

    private static byte[] resourceBytes(String name) throws IOException {
        try (InputStream in = NpzArchiveTest.class.getResourceAsStream("/npz/" + name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsNumpySavezCompressed() throws IOException {
        NpzArchive npz = resource("numpy_compressed.npz");
        assertThat(npz.names()).containsExactly("input", "labels");

        NdArray x = npz.array("input");
        assertThat(x.dtype()).isEqualTo("<f4");
        assertThat(x.shape()).containsExactly(5, 1, 2, 3);
        assertThat(x.rows()).isEqualTo(5);
        float[] values = x.toFloats();
        assertThat(values).hasSize(30);
        for (int i = 0; i < 30; i++) {
            assertThat(values[i]).isEqualTo(i / 8f - 2f);
        }
        assertThat(npz.array("labels").dtype()).isEqualTo("<i8");
        assertThat(npz.array("labels").toLongs()).containsExactly(3, 1, 4, 1, 5);
    }

    @Test
    void headReadsTheFirstRowsOfTheNamedArraysOnly() throws IOException {
        for (String file : List.of("numpy_compressed.npz", "numpy_stored.npz")) {
            NpzArchive whole = resource(file);
            String first = whole.names().getFirst();
            NpzArchive head;
            try (InputStream in = NpzArchiveTest.class.getResourceAsStream("/npz/" + file)) {
                head = NpzArchive.readHead(in, List.of(first, "absent"), 2);
            }
            assertThat(head.names()).as(file).containsExactly(first);
            NdArray all = whole.array(first);
            NdArray two = head.array(first);
            assertThat(two.dtype()).isEqualTo(all.dtype());
            assertThat(two.rows()).isEqualTo(Math.min(2, all.rows()));
            assertThat(two.toFloats()).containsExactly(all.slice(0, two.rows()).toFloats());
        }
        byte[] npz = resourceBytes("numpy_compressed.npz");
        NpzArchive more = NpzArchive.readHead(new ByteArrayInputStream(npz), List.of("input", "labels"), 50);
        assertThat(more.array("input").shape()).containsExactly(5, 1, 2, 3);
        assertThat(more.array("labels").toLongs()).containsExactly(3, 1, 4, 1, 5);
        assertThatThrownBy(() -> NpzArchive.readHead(new ByteArrayInputStream("not a zip".getBytes()), List.of("x"), 1))
            .isInstanceOf(DatasetException.class).hasMessageContaining("not an .npz archive");
    }

    @Test
    void readsEveryDtypeFromNumpySavezStored() throws IOException {
        NpzArchive npz = resource("numpy_stored.npz");
        assertThat(npz.array("f8").toFloats()).containsExactly(0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f);
        assertThat(npz.array("f8").shape()).containsExactly(2, 3);
        assertThat(npz.array("i4").toLongs()).containsExactly(-1, 2, 70000);
        assertThat(npz.array("u1").toLongs()).containsExactly(0, 255);
        assertThat(npz.array("u1").dtype()).isEqualTo("|u1");
        assertThat(npz.array("b1").toLongs()).containsExactly(1, 0, 1);
        assertThat(npz.array("b1").dtypeName()).isEqualTo("bool");
        assertThat(npz.array("i1").toLongs()).containsExactly(-128, 127);
        assertThat(npz.array("f2").toFloats()).containsExactly(0.5f, -2f);
        assertThat(npz.array("i2").toFloats()).containsExactly(-300f, 300f);
        NdArray scalar = npz.array("scalar");
        assertThat(scalar.rank()).isZero();
        assertThat(scalar.toFloats()).containsExactly(2.5f);
        assertThatThrownBy(scalar::rows).isInstanceOf(DatasetException.class).hasMessageContaining("scalar");
    }

    @Test
    void readsFromPathLikeFromStream(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("d.npz");
        Files.write(file, resourceBytes("numpy_compressed.npz"));
        assertThat(NpzArchive.read(file).array("input").toFloats()).isEqualTo(resource("numpy_compressed.npz").array("input").toFloats());
    }

    @Test
    void sliceTakesRowsAlongAxisZero() throws IOException {
        NdArray x = resource("numpy_compressed.npz").array("input");
        NdArray s = x.slice(1, 3);
        assertThat(s.shape()).containsExactly(2, 1, 2, 3);
        assertThat(s.toFloats()).isEqualTo(Arrays.copyOfRange(x.toFloats(), 6, 18));
        assertThat(x.slice(2, 2).rows()).isZero();
        assertThatThrownBy(() -> x.slice(3, 6)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void floatArrayCannotBeReadAsLongs() {
        NdArray f = NdArray.ofFloats("labels", new float[] {1f}, 1);
        assertThatThrownBy(f::toLongs).isInstanceOf(DatasetException.class).hasMessageContaining("labels").hasMessageContaining("int64");
    }

    @Test
    void writerRoundTripsStoredAndCompressedAndIsDeterministic() {
        List<NdArray> arrays = List.of(
            NdArray.ofFloats("x", new float[] {1.5f, -2f, 3f, 0f, 7f, -0f}, 3, 2),
            NdArray.ofLongs("labels", new long[] {0, 9, Long.MAX_VALUE}, 3),
            NdArray.ofInts("i", new int[] {5}, 1, 1),
            NdArray.ofDoubles("d", new double[] {Math.PI}, 1),
            NdArray.of("m", "|u1", new long[] {2}, new byte[] {1, (byte) 200}));
        for (boolean compressed : new boolean[] {false, true}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            NpzWriter.write(out, arrays, compressed);
            ByteArrayOutputStream again = new ByteArrayOutputStream();
            NpzWriter.write(again, arrays, compressed);
            assertThat(again.toByteArray()).isEqualTo(out.toByteArray());

            NpzArchive back = NpzArchive.read(new ByteArrayInputStream(out.toByteArray()));
            assertThat(back.names()).containsExactly("x", "labels", "i", "d", "m");
            for (NdArray a : arrays) {
                NdArray b = back.array(a.name());
                assertThat(b.dtype()).isEqualTo(a.dtype());
                assertThat(b.shape()).isEqualTo(a.shape());
                assertThat(b.rawData()).isEqualTo(a.rawData());
            }
        }
    }

    @Test
    void numpyReadsWhatTheWriterWrites(@TempDir Path dir) throws Exception {
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(python), "needs /usr/bin/python3 with numpy");
        Path file = dir.resolve("w.npz");
        NpzWriter.write(file, List.of(NdArray.ofFloats("x", new float[] {0.5f, -1f, 2f, 4f}, 2, 2),
            NdArray.ofLongs("labels", new long[] {7, 3}, 2)), true);
        Process p = new ProcessBuilder(python.toString(), "-c",
            "import numpy as np, sys; d = np.load(sys.argv[1]); "
                + "print(d['x'].dtype.str, d['x'].shape, d['x'].sum(), d['labels'].dtype.str, d['labels'].tolist())",
            file.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assumeTrue(!printed.contains("No module named"), "numpy not installed");
        assertThat(printed).isEqualTo("<f4 (2, 2) 5.5 <i8 [7, 3]");
    }

    @Test
    void notAZipIsRejected() {
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream("hello,world\n1,2\n".getBytes(StandardCharsets.UTF_8))))
            .isInstanceOf(DatasetException.class).hasMessageContaining("not an .npz archive");
    }

    @Test
    void singleNpyIsRejectedWithAHint() {
        assertThatThrownBy(() -> resource("single.npy"))
            .isInstanceOf(DatasetException.class).hasMessageContaining("single .npy").hasMessageContaining("savez");
    }

    @Test
    void entryThatIsNotNpyIsRejected() throws IOException {
        byte[] zip = zipOf("input.npy", "just text".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(zip)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("input.npy").hasMessageContaining("not a NumPy array");
        byte[] other = zipOf("readme.txt", "x".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(other)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("readme.txt");
    }

    @Test
    void unsupportedDtypeIsRejected() {
        assertThatThrownBy(() -> resource("strings.npz"))
            .isInstanceOf(DatasetException.class).hasMessageContaining("'x'").hasMessageContaining("<U1").hasMessageContaining("not supported");
    }

    @Test
    void bigEndianIsRejected() {
        assertThatThrownBy(() -> resource("bigendian.npz"))
            .isInstanceOf(DatasetException.class).hasMessageContaining("big-endian");
    }

    @Test
    void fortranOrderIsRejected() {
        assertThatThrownBy(() -> resource("fortran.npz"))
            .isInstanceOf(DatasetException.class).hasMessageContaining("Fortran").hasMessageContaining("ascontiguousarray");
    }

    @Test
    void truncatedArrayDataIsRejected() throws IOException {
        byte[] npy = NpyFormat.write(NdArray.ofFloats("x", new float[] {1, 2, 3, 4}, 4));
        byte[] zip = zipOf("x.npy", Arrays.copyOf(npy, npy.length - 5));
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(zip)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("truncated").hasMessageContaining("16 bytes");
    }

    @Test
    void truncatedZipIsRejected() throws IOException {
        byte[] whole = resourceBytes("numpy_compressed.npz");
        byte[] cut = Arrays.copyOf(whole, whole.length / 2);
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(cut)))
            .isInstanceOf(DatasetException.class);
    }

    @Test
    void missingArrayNamesWhatIsThere() throws IOException {
        assertThatThrownBy(() -> resource("numpy_compressed.npz").array("pixels"))
            .isInstanceOf(DatasetException.class).hasMessageContaining("pixels").hasMessageContaining("[input, labels]");
    }

    /** A valid float32 array of {@code n} zeros: deflates about 1000:1. */
    private static byte[] zeros(int n) {
        return NpyFormat.write(NdArray.ofFloats("x", new float[n], n));
    }

    @Test
    void anEntryThatInflatesFarBeyondItsCompressedSizeIsRefusedAsAZipBomb() throws IOException {
        byte[] bomb = zipOf("x.npy", zeros(8 << 20));          // 32 MiB of zeros in ~32 KiB
        assertThat(bomb.length).isLessThan(1 << 20);
        NpzArchive.Limits limits = new NpzArchive.Limits(1L << 30, 100, 1L << 20);
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(bomb), limits))
            .isInstanceOf(DatasetException.class).hasMessageContaining("x.npy").hasMessageContaining("zip bomb")
            .hasMessageContaining("100 times");
        // the same archive within a generous ratio reads (the check is the ratio, not the size)
        assertThat(NpzArchive.read(new ByteArrayInputStream(bomb), new NpzArchive.Limits(1L << 30, 1e6, 1L << 20))
            .array("x").rows()).isEqualTo(8 << 20);
    }

    @Test
    void anArchiveLargerThanTheAbsoluteCapIsRefusedWhileReading() throws IOException {
        byte[] big = zipOf("x.npy", zeros(4 << 20));           // 16 MiB inflated, no size in the local header
        NpzArchive.Limits limits = new NpzArchive.Limits(8L << 20, 1e9, 0);
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(big), limits))
            .isInstanceOf(DatasetException.class).hasMessageContaining("more than 8.0 MiB").hasMessageContaining("'x.npy'");
    }

    @Test
    void aDeclaredSizeBeyondTheCapIsRefusedBeforeAnythingIsInflated() throws IOException {
        byte[] npy = zeros(4 << 20);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {   // STORED: sizes in the local header, as numpy writes
            ZipEntry e = new ZipEntry("x.npy");
            e.setMethod(ZipEntry.STORED);
            e.setSize(npy.length);
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(npy);
            e.setCrc(crc.getValue());
            zip.putNextEntry(e);
            zip.write(npy);
            zip.closeEntry();
        }
        NpzArchive.Limits limits = new NpzArchive.Limits(1L << 20, 1e9, 0);
        assertThatThrownBy(() -> NpzArchive.read(new ByteArrayInputStream(out.toByteArray()), limits))
            .isInstanceOf(DatasetException.class).hasMessageContaining("more than 1.0 MiB");
        assertThat(NpzArchive.read(new ByteArrayInputStream(out.toByteArray())).array("x").rows()).isEqualTo(4 << 20);
    }

    private static byte[] zipOf(String entry, byte[] content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry(entry));
            zip.write(content);
            zip.closeEntry();
        }
        return out.toByteArray();
    }
}
