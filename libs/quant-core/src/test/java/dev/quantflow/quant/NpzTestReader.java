package dev.quantflow.quant;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Minimal test-only .npz reader: a zip of {@code <name>.npy} files, each a magic string, a version, a little-endian
 * header length and a Python-dict text header ({@code descr}, {@code fortran_order}, {@code shape}) followed by the
 * raw array. Supports C-order little-endian float32 and int64, which is what the fixtures hold.
 */
public final class NpzTestReader {

    public record Array(String descr, long[] shape, ByteBuffer data) {
        public float[] floats() {
            if (!descr.equals("<f4")) {
                throw new IllegalStateException("not float32: " + descr);
            }
            float[] out = new float[data.remaining() / 4];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }

        public long[] longs() {
            if (!descr.equals("<i8")) {
                throw new IllegalStateException("not int64: " + descr);
            }
            long[] out = new long[data.remaining() / 8];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
            return out;
        }
    }

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    private NpzTestReader() {
    }

    public static Map<String, Array> read(Path file) throws IOException {
        Map<String, Array> arrays = new HashMap<>();
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(file))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                String name = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                arrays.put(name, parseNpy(readAll(zip)));
            }
        }
        return arrays;
    }

    private static Array parseNpy(byte[] bytes) {
        if (bytes.length < 10 || (bytes[0] & 0xFF) != 0x93 || bytes[1] != 'N') {
            throw new IllegalArgumentException("not an .npy array");
        }
        int major = bytes[6];
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = major == 1 ? b.getShort(8) & 0xFFFF : b.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(bytes, start, headerLen, StandardCharsets.ISO_8859_1);
        if (header.contains("'fortran_order': True")) {
            throw new IllegalArgumentException("Fortran-order arrays not supported");
        }
        Matcher d = DESCR.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !s.find()) {
            throw new IllegalArgumentException("unreadable .npy header: " + header);
        }
        long[] shape = java.util.Arrays.stream(s.group(1).split(",")).map(String::trim).filter(x -> !x.isEmpty())
            .mapToLong(Long::parseLong).toArray();
        return new Array(d.group(1), shape, ByteBuffer.wrap(bytes, start + headerLen, bytes.length - start - headerLen).slice());
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }
}
