package dev.quantflow.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;

import ai.onnx.proto.OnnxMl;

/**
 * Checks for models handed in by strangers, made before anything (ONNX Runtime included) acts on what a model
 * claims:
 * <ul>
 *   <li>{@link #externalDataProblems external data}: a tensor whose payload lives in a file names that file by a
 *       path ({@code location}); ONNX Runtime resolves it against the model's folder and reads it. An absolute path,
 *       {@code ..}, a symlink leading outside the folder or a missing file is refused, naming the path; a model that
 *       came as one file (an upload) has no folder, so it may not refer to files at all.</li>
 *   <li>{@link #payloadProblems declared sizes}: a tensor's dims claim as many elements as its data holds (a claim
 *       larger than the file is refused before anything allocates for it).</li>
 *   <li>{@link #declaredBytes the memory budget}: the bytes the declared tensors need (initializers, plus the largest
 *       tensor of fixed shape the graph declares) against what a worker may use.</li>
 * </ul>
 * Every tensor is visited: initializers, sparse initializers, Constant nodes' attributes, and those of subgraphs
 * (If, Loop, Scan bodies) at any depth.
 */
public final class ModelSafety {

    private ModelSafety() {
    }

    /** What the declared tensors need: initializer bytes, and the largest single tensor of fixed declared shape. */
    public record DeclaredBytes(long initializers, long largestValue, String largestValueName) {
        public long total() {
            return saturatedAdd(initializers, largestValue);
        }
    }

    /**
     * Problems with external-data references, each naming the tensor and the path.
     *
     * @param folder the folder the model file sits in; {@code null} for a model that came as bytes alone (then
     *               every external reference is a problem: there is nothing it could rightly point at)
     */
    public static List<String> externalDataProblems(OnnxModel model, Path folder) {
        List<String> problems = new ArrayList<>();
        Path base = null;
        Path realBase = null;
        if (folder != null) {
            base = folder.toAbsolutePath().normalize();
            try {
                realBase = base.toRealPath();
            } catch (IOException e) {
                problems.add("the model's folder " + folder + " cannot be read: " + e.getMessage());
                return problems;
            }
        }
        Path b = base;
        Path rb = realBase;
        forEachTensor(model.graph(), (where, t) -> {
            if (t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL) {
                return;
            }
            String location = null;
            long offset = 0;
            long length = -1;
            for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
                try {
                    switch (e.getKey()) {
                        case "location" -> location = e.getValue();
                        case "offset" -> offset = Long.parseLong(e.getValue());
                        case "length" -> length = Long.parseLong(e.getValue());
                        default -> { }
                    }
                } catch (NumberFormatException ex) {
                    problems.add(where + " has external-data " + e.getKey() + " '" + e.getValue() + "', not a number");
                }
            }
            String problem = locationProblem(where, location, offset, length, b, rb);
            if (problem != null) {
                problems.add(problem);
            }
        });
        return problems;
    }

    private static String locationProblem(String where, String location, long offset, long length, Path base, Path realBase) {
        if (location == null || location.isEmpty()) {
            return where + " keeps its data externally but names no location";
        }
        String shown = "'" + location + "'";
        if (location.startsWith("/") || location.startsWith("\\") || location.matches("^[A-Za-z]:.*")) {
            return where + " points at external data by the absolute path " + shown + "; only files beside the model are allowed";
        }
        if (location.contains("\0")) {
            return where + " names external data with a NUL character";
        }
        for (String segment : location.split("[/\\\\]")) {
            if (segment.equals("..")) {
                return where + " points at external data outside the model's folder: " + shown;
            }
        }
        if (base == null) {
            return where + " keeps its data in the external file " + shown + ", which a single uploaded model cannot carry;"
                + " hand over a self-contained model (e.g. onnx.save(model, path, save_as_external_data=False))";
        }
        Path file;
        try {
            file = base.resolve(location).normalize();
        } catch (InvalidPathException e) {
            return where + " names external data by an invalid path " + shown;
        }
        if (!file.startsWith(base)) {
            return where + " points at external data outside the model's folder: " + shown;
        }
        if (!Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return where + " keeps its data in " + shown + ", which is missing";
        }
        Path real;
        try {
            real = file.toRealPath();
        } catch (IOException e) {
            return where + " keeps its data in " + shown + ", which cannot be followed (a dangling symlink?)";
        }
        if (!real.startsWith(realBase)) {
            return where + " keeps its data in " + shown + ", a symlink leading outside the model's folder";
        }
        if (!Files.isRegularFile(real)) {
            return where + " keeps its data in " + shown + ", which is not a regular file";
        }
        try {
            long size = Files.size(real);
            if (offset < 0 || (length >= 0 && saturatedAdd(offset, length) > size) || offset > size) {
                return where + " claims bytes " + offset + ".." + (length < 0 ? "end" : offset + length) + " of " + shown
                    + ", which has " + size + " bytes";
            }
        } catch (IOException e) {
            return where + " keeps its data in " + shown + ", which cannot be read";
        }
        return null;
    }

    /**
     * Tensors whose data does not hold what their dims declare (raw_data of the wrong length, typed values of the
     * wrong count, no data at all), and dims that are negative or overflow. External tensors are left to
     * {@link #externalDataProblems}.
     */
    public static List<String> payloadProblems(OnnxModel model) {
        List<String> problems = new ArrayList<>();
        forEachTensor(model.graph(), (where, t) -> {
            if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL || t.getDataType() == 8 /* STRING */) {
                return;
            }
            long count = elementCount(t.getDimsList());
            if (count < 0) {
                problems.add(where + " has dims " + t.getDimsList() + " (negative, or more elements than a long holds)");
                return;
            }
            long expected = bytesFor(t.getDataType(), count);
            if (expected < 0) {
                return; // a type this check does not size; ONNX Runtime judges it
            }
            long held;
            if (!t.getRawData().isEmpty()) {
                held = t.getRawData().size();
            } else {
                long values = typedValues(t);
                held = values < 0 ? -1 : bytesFor(t.getDataType(), values);
                if (t.getDataType() == 14 || t.getDataType() == 15) { // complex: two typed values per element
                    held = values < 0 ? -1 : bytesFor(t.getDataType(), values / 2);
                }
            }
            if (held >= 0 && held != expected) {
                problems.add(where + " declares dims " + t.getDimsList() + " (" + human(expected) + ") but holds "
                    + human(held));
            }
        });
        return problems;
    }

    /** The bytes the model's declared tensors need (symbolic dimensions count as 1). */
    public static DeclaredBytes declaredBytes(OnnxModel model) {
        long[] initializers = {0};
        forEachTensor(model.graph(), (where, t) -> {
            long count = elementCount(t.getDimsList());
            long bytes = count < 0 ? Long.MAX_VALUE : bytesFor(t.getDataType(), count);
            initializers[0] = saturatedAdd(initializers[0], Math.max(0, bytes));
        });
        long largest = 0;
        String largestName = "";
        List<OnnxMl.ValueInfoProto> values = new ArrayList<>(model.graph().getInputList());
        values.addAll(model.graph().getOutputList());
        values.addAll(model.graph().getValueInfoList());
        for (OnnxMl.ValueInfoProto vi : values) {
            if (!vi.getType().hasTensorType() || !vi.getType().getTensorType().hasShape()) {
                continue;
            }
            long count = 1;
            for (OnnxMl.TensorShapeProto.Dimension d : vi.getType().getTensorType().getShape().getDimList()) {
                long v = d.hasDimValue() ? d.getDimValue() : 1;
                if (v < 0) {
                    count = Long.MAX_VALUE;
                    break;
                }
                count = saturatedMultiply(count, v);
            }
            long bytes = bytesFor(vi.getType().getTensorType().getElemType(), count);
            if (count == Long.MAX_VALUE) {
                bytes = Long.MAX_VALUE;
            }
            if (bytes > largest) {
                largest = bytes;
                largestName = vi.getName();
            }
        }
        return new DeclaredBytes(initializers[0], largest, largestName);
    }

    /** Why the declared tensors do not fit {@code budgetBytes}, or null when they do. */
    public static String overBudget(OnnxModel model, long budgetBytes) {
        DeclaredBytes d = declaredBytes(model);
        if (d.initializers() > budgetBytes) {
            return "the model's weights are declared as " + human(d.initializers()) + ", over the worker memory budget of "
                + human(budgetBytes);
        }
        if (d.total() > budgetBytes) {
            return "tensor '" + d.largestValueName() + "' is declared as " + human(d.largestValue()) + " (with "
                + human(d.initializers()) + " of weights), over the worker memory budget of " + human(budgetBytes);
        }
        return null;
    }

    /** Calls {@code visit} with a description ("initializer 'w'", "node 'If_1' attribute 'then_branch' …") and each tensor. */
    static void forEachTensor(OnnxMl.GraphProto graph, BiConsumer<String, OnnxMl.TensorProto> visit) {
        forEachTensor(graph, "", visit);
    }

    private static void forEachTensor(OnnxMl.GraphProto graph, String in, BiConsumer<String, OnnxMl.TensorProto> visit) {
        for (OnnxMl.TensorProto t : graph.getInitializerList()) {
            visit.accept("initializer '" + t.getName() + "'" + in, t);
        }
        for (OnnxMl.SparseTensorProto s : graph.getSparseInitializerList()) {
            visit.accept("sparse initializer '" + s.getValues().getName() + "' values" + in, s.getValues());
            visit.accept("sparse initializer '" + s.getValues().getName() + "' indices" + in, s.getIndices());
        }
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                String where = "node '" + n.getName() + "' attribute '" + a.getName() + "'" + in;
                if (a.hasT()) {
                    visit.accept(where, a.getT());
                }
                for (OnnxMl.TensorProto t : a.getTensorsList()) {
                    visit.accept(where, t);
                }
                if (a.hasSparseTensor()) {
                    visit.accept(where + " values", a.getSparseTensor().getValues());
                    visit.accept(where + " indices", a.getSparseTensor().getIndices());
                }
                String sub = " in the subgraph of node '" + n.getName() + "'" + in;
                if (a.hasG()) {
                    forEachTensor(a.getG(), sub, visit);
                }
                for (OnnxMl.GraphProto g : a.getGraphsList()) {
                    forEachTensor(g, sub, visit);
                }
            }
        }
    }

    /** Elements implied by dims; -1 when a dim is negative or the product overflows. */
    private static long elementCount(List<Long> dims) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                return -1;
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                return -1;
            }
        }
        return n;
    }

    /** Bytes for {@code count} elements of ONNX data type {@code type}; -1 for types of no fixed size. */
    static long bytesFor(int type, long count) {
        long bits = switch (type) {
            case 2, 3, 9, 17, 18, 19, 20 -> 8; // uint8 int8 bool float8*
            case 4, 5, 10, 16 -> 16; // uint16 int16 float16 bfloat16
            case 1, 6, 12 -> 32; // float int32 uint32
            case 7, 11, 13, 14 -> 64; // int64 double uint64 complex64
            case 15 -> 128; // complex128
            case 21, 22, 23 -> 4; // uint4 int4 float4e2m1 (packed)
            default -> -1;
        };
        if (bits < 0) {
            return -1;
        }
        if (count == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        long b = saturatedMultiply(count, bits);
        return b == Long.MAX_VALUE ? b : (b + 7) / 8;
    }

    /** Values held in the typed repeated field the spec puts this type in; -1 when this check does not size it. */
    private static long typedValues(OnnxMl.TensorProto t) {
        return switch (t.getDataType()) {
            case 1, 14 -> t.getFloatDataCount();
            case 2, 3, 4, 5, 6, 9, 10, 16, 17, 18, 19, 20 -> t.getInt32DataCount();
            case 7 -> t.getInt64DataCount();
            case 11, 15 -> t.getDoubleDataCount();
            case 12, 13 -> t.getUint64DataCount();
            default -> -1;
        };
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private static long saturatedMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi != 0 || lo < 0) ? Long.MAX_VALUE : lo;
    }

    static String human(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
