package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;

import ai.onnx.proto.OnnxMl;

/**
 * A mutable working copy of a model's main graph, for passes that rewrite it (quantization inserts and replaces
 * nodes). {@link #build()} returns a new {@link OnnxModel}; the source model is never changed.
 *
 * <p>Every node gets a name: ONNX allows unnamed nodes, but passes and their reports refer to nodes by name, so an
 * unnamed node is named {@code <OpType>_<index>} (made unique) when the editor is created. This is deterministic.
 *
 * <p>Node order: ONNX requires nodes in topological order. Edits may append nodes anywhere; {@link #build()} sorts
 * stably — among nodes whose inputs are ready it always emits the one that comes first in the working list — so a
 * graph whose working order is already topological keeps it exactly, and inserted nodes land where they were put
 * as far as data dependencies allow. Tensors read by subgraphs (If/Loop bodies) from the outer scope count as
 * dependencies of the node that owns the subgraph.
 */
public final class GraphEditor {

    private final OnnxMl.ModelProto baseModel;
    private final List<OnnxMl.NodeProto> nodes = new ArrayList<>();
    private final LinkedHashMap<String, OnnxMl.TensorProto> initializers = new LinkedHashMap<>();
    private final List<OnnxMl.ValueInfoProto> inputs;
    private final List<OnnxMl.ValueInfoProto> outputs;
    private final Set<String> usedNames = new HashSet<>();

    private GraphEditor(OnnxModel model) {
        this.baseModel = model.proto();
        OnnxMl.GraphProto g = model.graph();
        this.inputs = new ArrayList<>(g.getInputList());
        this.outputs = new ArrayList<>(g.getOutputList());
        g.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        g.getInputList().forEach(v -> usedNames.add(v.getName()));
        g.getOutputList().forEach(v -> usedNames.add(v.getName()));
        g.getValueInfoList().forEach(v -> usedNames.add(v.getName()));
        usedNames.addAll(initializers.keySet());
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            usedNames.add(n.getName());
            usedNames.addAll(n.getInputList());
            usedNames.addAll(n.getOutputList());
        }
        int index = 0;
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            if (n.getName().isEmpty()) {
                n = n.toBuilder().setName(uniqueName(n.getOpType() + "_" + index)).build();
            }
            nodes.add(n);
            index++;
        }
    }

    public static GraphEditor of(OnnxModel model) {
        return new GraphEditor(model);
    }

    /** The working node list, in working order (a snapshot). */
    public List<OnnxMl.NodeProto> nodes() {
        return List.copyOf(nodes);
    }

    public Optional<OnnxMl.NodeProto> node(String name) {
        return nodes.stream().filter(n -> n.getName().equals(name)).findFirst();
    }

    /** The node that outputs {@code tensor}; empty for graph inputs, initializers and unknown names. */
    public Optional<OnnxMl.NodeProto> producer(String tensor) {
        return nodes.stream().filter(n -> n.getOutputList().contains(tensor)).findFirst();
    }

    /** Nodes that read {@code tensor} as a direct input, in working order, each once. */
    public List<OnnxMl.NodeProto> consumers(String tensor) {
        return nodes.stream().filter(n -> n.getInputList().contains(tensor)).toList();
    }

    public boolean isGraphOutput(String tensor) {
        return outputs.stream().anyMatch(v -> v.getName().equals(tensor));
    }

    /** A graph input that is not an initializer (fed by the user). */
    public boolean isGraphInput(String tensor) {
        return !initializers.containsKey(tensor) && inputs.stream().anyMatch(v -> v.getName().equals(tensor));
    }

    public Optional<OnnxMl.ValueInfoProto> graphInput(String tensor) {
        return inputs.stream().filter(v -> v.getName().equals(tensor)).findFirst();
    }

    public Optional<OnnxMl.TensorProto> initializer(String name) {
        return Optional.ofNullable(initializers.get(name));
    }

    /** Value info recorded in the graph for {@code tensor} (inputs, outputs or value_info). */
    public Optional<OnnxMl.ValueInfoProto> valueInfo(String tensor) {
        for (OnnxMl.ValueInfoProto v : inputs) {
            if (v.getName().equals(tensor)) {
                return Optional.of(v);
            }
        }
        for (OnnxMl.ValueInfoProto v : outputs) {
            if (v.getName().equals(tensor)) {
                return Optional.of(v);
            }
        }
        return baseModel.getGraph().getValueInfoList().stream().filter(v -> v.getName().equals(tensor)).findFirst();
    }

    /**
     * A name not used by any tensor or node in the graph (nor returned before): {@code base} itself if free,
     * otherwise {@code base_1}, {@code base_2}, … The name is reserved.
     */
    public String uniqueName(String base) {
        String candidate = base;
        int i = 1;
        while (usedNames.contains(candidate)) {
            candidate = base + "_" + i++;
        }
        usedNames.add(candidate);
        return candidate;
    }

    /** Adds or replaces an initializer. */
    public void putInitializer(OnnxMl.TensorProto tensor) {
        usedNames.add(tensor.getName());
        initializers.put(tensor.getName(), tensor);
    }

    /** Removes an initializer, and its graph-input entry if the model (IR &lt; 4 style) lists one. */
    public void removeInitializer(String name) {
        if (initializers.remove(name) != null) {
            inputs.removeIf(v -> v.getName().equals(name));
        }
    }

    /** Replaces the node named {@code name} with {@code replacement} (zero or more nodes) at its position. */
    public void replaceNode(String name, List<OnnxMl.NodeProto> replacement) {
        int i = indexOf(name);
        nodes.remove(i);
        reserve(replacement);
        nodes.addAll(i, replacement);
    }

    public void removeNode(String name) {
        nodes.remove(indexOf(name));
    }

    public void insertBefore(String name, List<OnnxMl.NodeProto> newNodes) {
        reserve(newNodes);
        nodes.addAll(indexOf(name), newNodes);
    }

    public void insertAfter(String name, List<OnnxMl.NodeProto> newNodes) {
        reserve(newNodes);
        nodes.addAll(indexOf(name) + 1, newNodes);
    }

    /** Appends nodes at the start of the working list (e.g. quantizing a graph input). */
    public void insertAtStart(List<OnnxMl.NodeProto> newNodes) {
        reserve(newNodes);
        nodes.addAll(0, newNodes);
    }

    /** Replaces the graph output entry named {@code oldName} by one named {@code newName}, same type. */
    public void renameGraphOutput(String oldName, String newName) {
        for (int i = 0; i < outputs.size(); i++) {
            if (outputs.get(i).getName().equals(oldName)) {
                outputs.set(i, outputs.get(i).toBuilder().setName(newName).build());
            }
        }
    }

    /**
     * Builds the edited model: nodes sorted topologically (stably, see class doc), initializers that no node reads
     * and no graph output names dropped, value_info kept only for tensors that still exist.
     *
     * @throws OnnxFormatException if the edited graph has a cycle
     */
    public OnnxModel build() {
        List<OnnxMl.NodeProto> sorted = topologicalOrder();
        Set<String> live = new HashSet<>();
        for (OnnxMl.NodeProto n : sorted) {
            live.addAll(n.getInputList());
            live.addAll(n.getOutputList());
            collectSubgraphReads(n, live);
        }
        outputs.forEach(v -> live.add(v.getName()));
        OnnxMl.GraphProto.Builder g = baseModel.getGraph().toBuilder()
            .clearNode().addAllNode(sorted)
            .clearInitializer()
            .clearInput().addAllInput(inputs)
            .clearOutput().addAllOutput(outputs)
            .clearValueInfo();
        Set<String> dropped = new HashSet<>();
        for (OnnxMl.TensorProto t : initializers.values()) {
            if (live.contains(t.getName())) {
                g.addInitializer(t);
            } else {
                dropped.add(t.getName());
            }
        }
        if (!dropped.isEmpty()) {
            List<OnnxMl.ValueInfoProto> kept = inputs.stream().filter(v -> !dropped.contains(v.getName())).toList();
            g.clearInput().addAllInput(kept);
        }
        for (OnnxMl.ValueInfoProto v : baseModel.getGraph().getValueInfoList()) {
            if (live.contains(v.getName()) || isGraphInput(v.getName())) {
                g.addValueInfo(v);
            }
        }
        return OnnxModel.wrap(baseModel.toBuilder().setGraph(g).build());
    }

    private List<OnnxMl.NodeProto> topologicalOrder() {
        Map<String, Integer> producerIndex = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String out : nodes.get(i).getOutputList()) {
                if (!out.isEmpty()) {
                    producerIndex.put(out, i);
                }
            }
        }
        int[] pending = new int[nodes.size()];
        List<List<Integer>> dependents = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            dependents.add(new ArrayList<>());
        }
        for (int i = 0; i < nodes.size(); i++) {
            Set<String> reads = new HashSet<>(nodes.get(i).getInputList());
            collectSubgraphReads(nodes.get(i), reads);
            Set<Integer> deps = new HashSet<>();
            for (String r : reads) {
                Integer p = producerIndex.get(r);
                if (p != null && p != i) {
                    deps.add(p);
                }
            }
            pending[i] = deps.size();
            for (int p : deps) {
                dependents.get(p).add(i);
            }
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (pending[i] == 0) {
                ready.add(i);
            }
        }
        List<OnnxMl.NodeProto> order = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            int i = ready.poll();
            order.add(nodes.get(i));
            for (int d : dependents.get(i)) {
                if (--pending[d] == 0) {
                    ready.add(d);
                }
            }
        }
        if (order.size() != nodes.size()) {
            throw new OnnxFormatException("the edited graph has a cycle");
        }
        return order;
    }

    /** Adds every tensor name read inside {@code node}'s subgraph attributes (outer-scope reads included). */
    private static void collectSubgraphReads(OnnxMl.NodeProto node, Set<String> into) {
        for (OnnxMl.AttributeProto a : node.getAttributeList()) {
            if (a.hasG()) {
                collectGraphReads(a.getG(), into);
            }
            for (OnnxMl.GraphProto sub : a.getGraphsList()) {
                collectGraphReads(sub, into);
            }
        }
    }

    private static void collectGraphReads(OnnxMl.GraphProto g, Set<String> into) {
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            into.addAll(n.getInputList());
            collectSubgraphReads(n, into);
        }
    }

    private int indexOf(String name) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).getName().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no node named '" + name + "'");
    }

    private void reserve(List<OnnxMl.NodeProto> newNodes) {
        for (OnnxMl.NodeProto n : newNodes) {
            usedNames.add(n.getName());
            usedNames.addAll(n.getOutputList());
        }
    }

    /** Snapshot of the initializers in insertion order. */
    public Map<String, OnnxMl.TensorProto> initializers() {
        return new LinkedHashMap<>(initializers);
    }
}
