package dev.quantflow.runtime.npz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The NumPy {@code .npy} format (versions 1.0, 2.0, 3.0):
 *
 * <pre>
 *   magic        6 bytes  \x93NUMPY
 *   version      2 bytes  major, minor
 *   header_len   2 bytes little-endian (v1) or 4 bytes (v2, v3)
 *   header       header_len bytes: a Python dict literal, e.g.
 *                {'descr': '&lt;f4', 'fortran_order': False, 'shape': (2000, 1, 28, 28), }
 *                padded with spaces and ending in '\n' (ASCII for v1/v2, UTF-8 for v3)
 *   data         product(shape) * itemsize bytes, C order when fortran_order is False
 * </pre>
 *
 * Writing uses version 1.0 and pads the preamble to a multiple of 64 bytes, as NumPy does.
 */
final class NpyFormat {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    private NpyFormat() {
    }

    static NdArray read(String name, byte[] bytes) {
        java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(bytes);
        Header h = readHeader(name, in);
        long count = h.dataBytes();
        long available = in.available();
        if (available < count) {
            throw new DatasetException("array '" + name + "' is truncated: its header promises " + count + " bytes of data "
                + "for shape " + java.util.Arrays.toString(h.shape()) + " but only " + available + " are present; "
                + "re-save the file");
        }
        if (available > count) {
            throw new DatasetException("array '" + name + "' has " + (available - count) + " bytes after its data; the "
                + "file is damaged or not written by NumPy");
        }
        return NdArray.create(name, h.dtype(), h.shape(), java.util.Arrays.copyOfRange(bytes, bytes.length - (int) count,
            bytes.length));
    }

    /**
     * The preamble and header of one .npy entry read from {@code in} (magic, version, header length, the dict),
     * leaving {@code in} at the first data byte.
     */
    private static Header readHeader(String name, java.io.InputStream in) {
        try {
            byte[] preamble = in.readNBytes(10);
            if (preamble.length < 10 || !startsWithMagic(preamble)) {
                throw new DatasetException("entry '" + name + ".npy' is not a NumPy array (no \\x93NUMPY header); save "
                    + "arrays with np.savez or np.savez_compressed");
            }
            int major = preamble[6] & 0xFF;
            long headerLen;
            if (major == 1) {
                headerLen = ByteBuffer.wrap(preamble).order(ByteOrder.LITTLE_ENDIAN).getShort(8) & 0xFFFF;
            } else if (major == 2 || major == 3) {
                byte[] more = in.readNBytes(2);
                if (more.length < 2) {
                    throw truncated(name);
                }
                headerLen = ByteBuffer.wrap(new byte[] {preamble[8], preamble[9], more[0], more[1]})
                    .order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
            } else {
                throw new DatasetException("array '" + name + "' uses .npy format version " + major + "."
                    + (preamble[7] & 0xFF) + ", which is not supported (1.0, 2.0 and 3.0 are)");
            }
            if (headerLen > 1 << 20) {
                throw new DatasetException("array '" + name + "' has a .npy header of " + headerLen + " bytes; the file is "
                    + "damaged");
            }
            byte[] headerBytes = in.readNBytes((int) headerLen);
            if (headerBytes.length < headerLen) {
                throw truncated(name);
            }
            return header(name, new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** dtype, shape and data size of an .npy header, validated. */
    private record Header(String dtype, long[] shape, long dataBytes) {
    }

    private static Header header(String name, String header) {
        Map<String, Object> dict = parseHeader(name, header);
        Object descr = dict.get("descr");
        Object fortran = dict.get("fortran_order");
        Object shapeObj = dict.get("shape");
        if (!(descr instanceof String) && descr != null) {
            throw new DatasetException("array '" + name + "' has a structured dtype (record fields), which is not supported; "
                + "save each field as its own array");
        }
        if (descr == null || !(fortran instanceof Boolean) || !(shapeObj instanceof List<?>)) {
            throw new DatasetException("array '" + name + "' has an incomplete .npy header (needs descr, fortran_order "
                + "and shape): " + header.strip());
        }
        if ((Boolean) fortran) {
            throw new DatasetException("array '" + name + "' is stored in Fortran (column-major) order; save it in C order, "
                + "e.g. np.ascontiguousarray(x)");
        }
        List<?> dims = (List<?>) shapeObj;
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(dims.get(i) instanceof Long d)) {
                throw new DatasetException("array '" + name + "' has a non-integer shape " + dims);
            }
            shape[i] = d;
        }
        String dtype = NdArray.canonicalDtype((String) descr);
        if (dtype == null) {
            throw new DatasetException(NdArray.unsupportedDtypeMessage(name, (String) descr));
        }
        long count;
        try {
            count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            count = Math.multiplyExact(count, NdArray.itemSize(dtype));
        } catch (ArithmeticException e) {
            throw new DatasetException("array '" + name + "' declares an impossible shape " + dims);
        }
        return new Header(dtype, shape, count);
    }

    /**
     * The first {@code maxRows} rows (axis 0) of one .npy entry read from {@code in}, leaving the rest of the entry
     * unread: the data past those rows is never held in memory. A scalar is read whole.
     */
    static NdArray readHead(String name, java.io.InputStream in, int maxRows) throws java.io.IOException {
        Header h;
        try {
            h = readHeader(name, in);
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
        long[] shape = h.shape().clone();
        long wanted = h.dataBytes();
        if (shape.length > 0 && shape[0] > maxRows) {
            wanted = shape[0] == 0 ? 0 : h.dataBytes() / shape[0] * maxRows;
            shape[0] = maxRows;
        }
        if (wanted > Integer.MAX_VALUE - 8) {
            throw new DatasetException("array '" + name + "': " + maxRows + " rows are " + wanted + " bytes, more than supported");
        }
        byte[] data = in.readNBytes((int) wanted);
        if (data.length < wanted) {
            throw new DatasetException("array '" + name + "' is truncated: its header promises " + h.dataBytes()
                + " bytes of data for shape " + java.util.Arrays.toString(h.shape()) + "; re-save the file");
        }
        return NdArray.create(name, h.dtype(), shape, data);
    }

    static boolean startsWithMagic(byte[] bytes) {
        if (bytes.length < MAGIC.length) {
            return false;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    static byte[] write(NdArray array) {
        StringBuilder shape = new StringBuilder("(");
        long[] dims = array.shape();
        for (int i = 0; i < dims.length; i++) {
            shape.append(i == 0 ? "" : ", ").append(dims[i]);
        }
        shape.append(dims.length == 1 ? ",)" : ")");
        StringBuilder header = new StringBuilder("{'descr': '" + array.dtype() + "', 'fortran_order': False, 'shape': "
            + shape + ", }");
        int preamble = MAGIC.length + 2 + 2;
        while ((preamble + header.length() + 1) % 64 != 0) {
            header.append(' ');
        }
        header.append('\n');
        if (header.length() > 0xFFFF) {
            throw new IllegalArgumentException("header too long for .npy version 1.0");
        }
        byte[] data = array.rawData();
        ByteArrayOutputStream out = new ByteArrayOutputStream(preamble + header.length() + data.length);
        out.writeBytes(MAGIC);
        out.write(1);
        out.write(0);
        out.write(header.length() & 0xFF);
        out.write(header.length() >>> 8);
        out.writeBytes(header.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static DatasetException truncated(String name) {
        return new DatasetException("array '" + name + "' is truncated inside its .npy header; re-save the file");
    }

    // --- a parser for the Python literal subset .npy headers use: dict, str, bool, int, tuple/list ---

    private static Map<String, Object> parseHeader(String name, String header) {
        LiteralParser p = new LiteralParser(header);
        try {
            Object v = p.value();
            p.skipSpace();
            if (!p.atEnd() || !(v instanceof Map<?, ?>)) {
                throw new IllegalArgumentException("expected one dict");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) v;
            return m;
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new DatasetException("array '" + name + "' has an unreadable .npy header (" + e.getMessage() + "): "
                + header.strip());
        }
    }

    private static final class LiteralParser {
        private final String s;
        private int i;

        LiteralParser(String s) {
            this.s = s;
        }

        boolean atEnd() {
            return i >= s.length();
        }

        void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        Object value() {
            skipSpace();
            char c = s.charAt(i);
            if (c == '{') {
                return dict();
            }
            if (c == '(' || c == '[') {
                return sequence(c == '(' ? ')' : ']');
            }
            if (c == '\'' || c == '"') {
                return string();
            }
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (Character.isDigit(c) || c == '-') {
                int start = i++;
                while (i < s.length() && Character.isDigit(s.charAt(i))) {
                    i++;
                }
                if (i < s.length() && s.charAt(i) == 'L') { // Python 2 long suffix
                    return Long.parseLong(s.substring(start, i++));
                }
                return Long.parseLong(s.substring(start, i));
            }
            throw new IllegalArgumentException("unexpected '" + c + "' at " + i);
        }

        private Map<String, Object> dict() {
            Map<String, Object> m = new LinkedHashMap<>();
            i++;
            while (true) {
                skipSpace();
                if (s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                Object key = value();
                skipSpace();
                expect(':');
                m.put(String.valueOf(key), value());
                skipSpace();
                if (s.charAt(i) == ',') {
                    i++;
                }
            }
        }

        private List<Object> sequence(char close) {
            List<Object> items = new ArrayList<>();
            i++;
            while (true) {
                skipSpace();
                if (s.charAt(i) == close) {
                    i++;
                    return items;
                }
                items.add(value());
                skipSpace();
                if (s.charAt(i) == ',') {
                    i++;
                }
            }
        }

        private String string() {
            char quote = s.charAt(i++);
            int end = s.indexOf(quote, i);
            if (end < 0) {
                throw new IllegalArgumentException("unterminated string");
            }
            String v = s.substring(i, end);
            i = end + 1;
            return v;
        }

        private void expect(char c) {
            if (s.charAt(i) != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + i);
            }
            i++;
        }
    }
}
