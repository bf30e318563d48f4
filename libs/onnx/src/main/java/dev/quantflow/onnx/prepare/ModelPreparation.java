package dev.quantflow.onnx.prepare;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.OpsetUpgrade;

/**
 * Model preparation: turns the exports users bring (paddle2onnx, tf2onnx, old torch; opset 7..12, weights as
 * {@code Constant} nodes, unfolded BatchNormalization, Identity/Dropout left in) into one modern form the
 * quantizers understand, computing the same function. Pure graph rewriting on the protobuf: no ONNX Runtime. The
 * numerical check against the original (and the shape run that feeds {@code shapes}) is done by
 * {@code dev.quantflow.runtime.prepare.ModelPreparer} in libs/runtime.
 *
 * <p>Passes, in order (each in its own class, each counted in the {@link PreparationReport}):
 * <ol>
 *   <li>{@link ConstantsToInitializers}: {@code Constant} nodes → initializers, every value kind.</li>
 *   <li>{@link PassThroughRemoval}: {@code Identity} and inference {@code Dropout} removed; graph outputs keep
 *       their names.</li>
 *   <li>{@link OpsetUpgrade}: ai.onnx opset 7..16 → {@value #TARGET_OPSET}, rewriting the ops whose meaning or
 *       signature changed (Softmax family axis, Clip/Pad/Slice/TopK attributes → inputs, Squeeze/Unsqueeze/ReduceSum/
 *       Split axes, Upsample → Resize, Resize-10 modes, old BatchNormalization attributes, Dropout ratio, …). An op it
 *       cannot move is refused with {@link OnnxFormatException} naming the op and the opset. A model already at
 *       {@value #TARGET_OPSET} or newer keeps its opset, and so does one at 13..16 using ops the upgrade does not
 *       know (other domains, e.g. ONNX Runtime's com.microsoft): nothing a quantizer needs changed there, so it
 *       is noted, not refused.</li>
 *   <li>{@link WeightFolding}: weight-only Transpose/Reshape/Flatten/Squeeze/Unsqueeze/Identity/Shape/Cast computed
 *       ahead, where exact.</li>
 *   <li>{@link BatchNormFolding}: BN folded into the Conv / ConvTranspose / Gemm before it, else Mul + Add.</li>
 *   <li>{@link ActivationPatterns}: {@code x·HardSigmoid(x)} and {@code x·Clip(x+3,0,6)/6} → {@code HardSwish};
 *       {@code Clip(0, 6)} counted as ReLU6 (kept as Clip).</li>
 * </ol>
 *
 * <p><b>Why opset {@value #TARGET_OPSET}.</b> It has everything the quantizers use (per-axis QuantizeLinear and
 * bfloat16 from 13, HardSwish from 14, LayerNormalization at 17) and is the last opset before 18, where every
 * Reduce* op (ReduceMean, ReduceMax, …) moved its {@code axes} to an input and Pad/Resize gained attributes: one
 * more wave of rewrites and a newer ONNX Runtime needed, for nothing a quantizer needs. From 13 to 17 only RoiAlign
 * changed meaning (handled). ONNX Runtime 1.29 runs it with every CPU kernel.
 *
 * <p><b>Shapes.</b> Some rewrites want tensor shapes: the Softmax family (a single node with the right axis
 * instead of Flatten/op/Reshape) and a standalone BatchNormalization (the rank of its Mul/Add constants). The caller
 * passes what it knows as {@code shapes} (tensor name of the original model → dims); the runtime side gets them by
 * running the original model once with every intermediate tensor added as an output. Without a shape each rewrite
 * falls back to a form that needs none, or leaves the node (and says so in the report's notes).
 *
 * <p>Initializers that are also listed as graph inputs (IR &lt; 4 exports, {@code keep_initializers_as_inputs}) are
 * treated as constants: the prepared model no longer offers them as inputs.
 */
public final class ModelPreparation {

    /** The ai.onnx opset every prepared model imports (unless it was already newer). */
    public static final long TARGET_OPSET = 17;

    private ModelPreparation() {
    }

    /** {@link #prepare(OnnxModel, Map)} without known shapes. */
    public static PreparationResult prepare(OnnxModel model) {
        return prepare(model, Map.of());
    }

    /**
     * Prepares {@code model}.
     *
     * @param shapes known tensor shapes by tensor name of {@code model} (may be empty)
     * @throws OnnxFormatException when the opset upgrade meets an op it cannot move (the message names the op and
     *                             the opset)
     */
    public static PreparationResult prepare(OnnxModel model, Map<String, long[]> shapes) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(shapes, "shapes");
        int nodesBefore = model.graph().getNodeCount();
        long opsetFrom = model.opsetVersion();
        List<String> notes = new ArrayList<>();

        var constants = ConstantsToInitializers.apply(model);
        var passThrough = PassThroughRemoval.apply(constants.model());
        OnnxModel current = passThrough.model();
        OpsetUpgrade.Result upgrade;
        var blockers = opsetFrom >= 13 && opsetFrom < TARGET_OPSET
            ? OpsetUpgrade.blockers(current, TARGET_OPSET) : java.util.Set.<String>of();
        if (opsetFrom >= TARGET_OPSET || !blockers.isEmpty()) {
            if (!blockers.isEmpty()) {
                notes.add("kept at opset " + opsetFrom + " (already modern): " + blockers
                    + " not known to the upgrade");
            }
            upgrade = new OpsetUpgrade.Result(current, opsetFrom, opsetFrom, Map.of());
        } else {
            upgrade = OpsetUpgrade.upgrade(current, TARGET_OPSET, shapes);
        }
        var folding = WeightFolding.apply(upgrade.model());
        var batchNorms = BatchNormFolding.apply(folding.model(), shapes);
        notes.addAll(batchNorms.notes());
        var activations = ActivationPatterns.apply(batchNorms.model(), upgrade.opsetTo() >= 14);
        OnnxModel prepared = withoutInitializerInputs(activations.model());

        PreparationReport report = new PreparationReport(opsetFrom, upgrade.opsetTo(), nodesBefore,
            prepared.graph().getNodeCount(), constants.converted(), folding.folded(), passThrough.identities(),
            passThrough.dropouts(), upgrade.upgradedOps(), batchNorms.folded(), batchNorms.toMulAdd(),
            activations.hardSwish(), activations.relu6(), notes);
        return new PreparationResult(prepared, report);
    }

    /** Drops graph-input entries that name an initializer (IR &lt; 4 style); the model imports IR ≥ 4 by now. */
    private static OnnxModel withoutInitializerInputs(OnnxModel model) {
        var initializers = model.initializerNames();
        var inputs = model.graph().getInputList();
        if (inputs.stream().noneMatch(v -> initializers.contains(v.getName()))) {
            return model;
        }
        var graph = model.graph().toBuilder().clearInput()
            .addAllInput(inputs.stream().filter(v -> !initializers.contains(v.getName())).toList());
        var proto = model.proto().toBuilder().setGraph(graph);
        if (proto.getIrVersion() < 4) {
            proto.setIrVersion(4);
        }
        return OnnxModel.wrap(proto.build());
    }
}
