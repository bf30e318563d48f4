package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.google.protobuf.InvalidProtocolBufferException;

import ai.onnx.proto.OnnxMl;

/**
 * An ONNX model held as its protobuf message. Immutable: edits return a new model.
 *
 * <p>Parsing checks what every stage relies on (a graph with nodes and at least one real input), so a file that is
 * not ONNX, or is truncated, fails here with a message instead of deep inside ONNX Runtime.
 */
public final class OnnxModel {

    private final OnnxMl.ModelProto proto;

    private OnnxModel(OnnxMl.ModelProto proto) {
        this.proto = proto;
    }

    public static OnnxModel wrap(OnnxMl.ModelProto proto) {
        return new OnnxModel(proto);
    }

    /** Parses and sanity-checks serialized ONNX bytes. */
    public static OnnxModel parse(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new OnnxFormatException("the model file is empty");
        }
        OnnxMl.ModelProto proto;
        try {
            proto = OnnxMl.ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            // protobuf checks every length against the bytes left (a claim beyond the file's end is "truncated") and
            // nesting against its recursion limit (100): say which, so a hostile file reads as what it is
            throw new OnnxFormatException("not a readable ONNX model (protobuf parse failed: the file is not ONNX or is truncated: "
                + firstLine(e.getMessage()) + ")", e);
        }
        if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new OnnxFormatException("not a readable ONNX model: no graph with nodes (the file is not ONNX or is truncated)");
        }
        if (proto.getOpsetImportCount() == 0) {
            throw new OnnxFormatException("not a readable ONNX model: no opset_import");
        }
        OnnxModel model = new OnnxModel(proto);
        if (model.inputs().isEmpty()) {
            throw new OnnxFormatException("the model has no inputs that data could be fed to");
        }
        if (proto.getGraph().getOutputCount() == 0) {
            throw new OnnxFormatException("the model has no outputs");
        }
        return model;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "no detail";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public OnnxMl.ModelProto proto() {
        return proto;
    }

    public OnnxMl.GraphProto graph() {
        return proto.getGraph();
    }

    public byte[] toByteArray() {
        return proto.toByteArray();
    }

    /** Graph inputs that are not initializers: what a user must feed, in declaration order. */
    public List<ValueInfo> inputs() {
        Set<String> inits = initializerNames();
        List<ValueInfo> result = new ArrayList<>();
        for (OnnxMl.ValueInfoProto vi : graph().getInputList()) {
            if (!inits.contains(vi.getName())) {
                result.add(ValueInfo.of(vi));
            }
        }
        return result;
    }

    public List<ValueInfo> outputs() {
        return graph().getOutputList().stream().map(ValueInfo::of).toList();
    }

    public Set<String> initializerNames() {
        Set<String> names = new HashSet<>();
        for (OnnxMl.TensorProto t : graph().getInitializerList()) {
            names.add(t.getName());
        }
        return names;
    }

    public Map<String, OnnxMl.TensorProto> initializers() {
        Map<String, OnnxMl.TensorProto> map = new LinkedHashMap<>();
        for (OnnxMl.TensorProto t : graph().getInitializerList()) {
            map.put(t.getName(), t);
        }
        return map;
    }

    /** Opset version of the default (ai.onnx) domain. */
    public long opsetVersion() {
        return proto.getOpsetImportList().stream()
            .filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
            .mapToLong(OnnxMl.OperatorSetIdProto::getVersion)
            .findFirst().orElse(0);
    }

    /**
     * Returns a copy importing the default (ai.onnx) domain at {@code version}, raising the IR version to the one that
     * opset requires when it is lower. The caller is responsible for the graph's ops meaning the same at the new
     * version (ONNX changed some signatures between opsets).
     */
    public OnnxModel withOpsetVersion(long version) {
        OnnxMl.ModelProto.Builder b = proto.toBuilder();
        boolean found = false;
        for (int i = 0; i < b.getOpsetImportCount(); i++) {
            String domain = b.getOpsetImport(i).getDomain();
            if (domain.isEmpty() || domain.equals("ai.onnx")) {
                b.setOpsetImport(i, b.getOpsetImport(i).toBuilder().setVersion(version));
                found = true;
            }
        }
        if (!found) {
            b.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(version));
        }
        long requiredIr = minimumIrVersion(version);
        if (b.getIrVersion() < requiredIr) {
            b.setIrVersion(requiredIr);
        }
        return new OnnxModel(b.build());
    }

    /**
     * Returns a copy that imports {@code domain} (e.g. {@code com.microsoft}) at {@code version}; a model that already
     * imports the domain is returned unchanged. Use {@link #withOpsetVersion} for the default domain.
     */
    public OnnxModel withOpsetImport(String domain, long version) {
        if (domain.isEmpty() || domain.equals("ai.onnx")) {
            throw new IllegalArgumentException("use withOpsetVersion for the default domain");
        }
        boolean present = proto.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals(domain));
        if (present) {
            return this;
        }
        return new OnnxModel(proto.toBuilder().addOpsetImport(
            OnnxMl.OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(version)).build());
    }

    /** The lowest IR version that may import ai.onnx at {@code opset} (from the ONNX versioning table). */
    static long minimumIrVersion(long opset) {
        if (opset <= 8) {
            return 3;
        }
        if (opset <= 11) {
            return opset - 5;
        }
        if (opset <= 14) {
            return 7;
        }
        if (opset <= 18) {
            return 8;
        }
        if (opset <= 20) {
            return 9;
        }
        return opset <= 22 ? 10 : 11;
    }

    /**
     * Returns a copy whose graph also outputs the named tensors (ONNX Runtime has no API to read intermediate
     * tensors, so calibration and per-layer diagnostics add them as outputs). Already-present outputs are skipped.
     */
    public OnnxModel withAdditionalOutputs(List<String> tensorNames) {
        Set<String> present = new HashSet<>();
        graph().getOutputList().forEach(o -> present.add(o.getName()));
        OnnxMl.GraphProto.Builder g = graph().toBuilder();
        Map<String, OnnxMl.ValueInfoProto> known = new LinkedHashMap<>();
        graph().getValueInfoList().forEach(v -> known.put(v.getName(), v));
        for (String name : tensorNames) {
            if (present.add(name)) {
                OnnxMl.ValueInfoProto vi = known.get(name);
                if (vi == null) {
                    vi = OnnxMl.ValueInfoProto.newBuilder().setName(name)
                        .setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                            OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())))
                        .build();
                }
                g.addOutput(vi);
            }
        }
        return new OnnxModel(proto.toBuilder().setGraph(g).build());
    }

    /** Name, element type and shape of a graph input or output; a symbolic or unknown dimension is -1. */
    public record ValueInfo(String name, int elemType, long[] shape, List<String> dimNames) {
        static ValueInfo of(OnnxMl.ValueInfoProto vi) {
            int elem = 0;
            List<Long> dims = new ArrayList<>();
            List<String> names = new ArrayList<>();
            if (vi.hasType() && vi.getType().hasTensorType()) {
                var tt = vi.getType().getTensorType();
                elem = tt.getElemType();
                if (tt.hasShape()) {
                    for (var d : tt.getShape().getDimList()) {
                        dims.add(d.hasDimValue() ? d.getDimValue() : -1L);
                        names.add(d.hasDimParam() ? d.getDimParam() : "");
                    }
                }
            }
            return new ValueInfo(vi.getName(), elem, dims.stream().mapToLong(Long::longValue).toArray(), names);
        }

        /** ONNX element type as a short name (float, int64, …). */
        public String elemTypeName() {
            var t = OnnxMl.TensorProto.DataType.forNumber(elemType);
            return t == null ? "type" + elemType : t.name().toLowerCase();
        }
    }
}
