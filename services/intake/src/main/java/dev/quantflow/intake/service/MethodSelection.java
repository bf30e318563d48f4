package dev.quantflow.intake.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;

/**
 * The workflow's method selection: the requested method, or with {@code auto} the one the model's kind calls for
 * ({@link ModelInspector}: decided by compute, the op family with the largest share of the multiply-accumulates —
 * convolution → static, attention / recurrent → dynamic, weight MatMul/Gemm → dynamic with sequence signs, static
 * without — with the numbers in the reason, e.g. "Conv 94.2% of 17.3 M MACs per sample: vision model → static";
 * by structure when the shapes do not allow an estimate; decoder-only causal LM → 4-bit GPTQ with calibration data,
 * RTN without; a request that allows retraining and brings training data → QAT); plus the fallback methods the debug
 * loop may switch to when the chosen one cannot reach the target.
 */
public final class MethodSelection {

    /** What the request brings besides the model. */
    public record Inputs(boolean calibrationData, boolean trainingData, boolean allowRetraining) {
    }

    public record Choice(QuantMethod method, String reason, List<QuantMethod> fallbacks) {
        public Choice {
            fallbacks = List.copyOf(fallbacks);
        }
    }

    private MethodSelection() {
    }

    public static Choice choose(String requested, OnnxModel model, boolean hasCalibrationData) {
        return choose(requested, model, new Inputs(hasCalibrationData, false, false));
    }

    /**
     * The method a request names, or empty for {@code auto} / no method; an unknown name is refused with
     * UNSUPPORTED_METHOD and the list of known ones.
     */
    public static Optional<QuantMethod> requested(String requested) {
        if (requested == null || requested.isBlank() || requested.trim().equalsIgnoreCase("auto")) {
            return Optional.empty();
        }
        return Optional.of(QuantMethod.of(requested).orElseThrow(() -> new RejectedInputException(422,
            ReasonCodes.UNSUPPORTED_METHOD, "method '" + requested.trim().toLowerCase() + "' is not available in this "
                + "version; available: " + String.join(", ", QuantMethod.wireNames()) + " (or auto)")));
    }

    /** {@link #choose(String, OnnxModel, Inputs, Map)} with only the shapes the model declares. */
    public static Choice choose(String requested, OnnxModel model, Inputs in) {
        return choose(requested, model, in, Map.of());
    }

    /**
     * @param shapes tensor shapes of {@code model} known to the caller (e.g. every intermediate from one ONNX Runtime
     *               run); with them {@code auto} decides by the MAC shares of a model with dynamic dimensions, without
     *               them such a model is judged by its structure and the reason says the estimate was not available
     */
    public static Choice choose(String requested, OnnxModel model, Inputs in, Map<String, long[]> shapes) {
        boolean explicitAuto = requested != null && requested.trim().equalsIgnoreCase("auto");
        QuantMethod method;
        String reason;
        boolean retrain = in.allowRetraining() && in.trainingData();
        Optional<QuantMethod> named = requested(requested);
        if (named.isPresent()) {
            method = named.get();
            reason = "requested";
        } else {
            ModelInspector.Kind kind = model == null ? null : ModelInspector.inspect(model, shapes);
            if (kind != null && kind.family() == ModelInspector.Family.DECODER_LLM && explicitAuto) {
                method = in.calibrationData() ? QuantMethod.GPTQ : QuantMethod.RTN;
                reason = "auto: " + kind.reason() + " → 4-bit weight-only " + method.wireName().toUpperCase()
                    + (in.calibrationData() ? "" : " (no calibration text was given; GPTQ/AWQ need it)");
            } else if (retrain && (kind == null || kind.family() == ModelInspector.Family.VISION
                || kind.family() == ModelInspector.Family.DENSE || kind.family() == ModelInspector.Family.UNKNOWN)) {
                method = QuantMethod.QAT;
                reason = (explicitAuto ? "auto: " + (kind == null ? "" : kind.reason() + "; ") : "")
                    + "retraining allowed and training data given → quantization-aware training";
            } else if (!explicitAuto || kind == null) {
                method = QuantMethod.STATIC;
                reason = "default";
            } else {
                method = switch (kind.family()) {
                    case VISION, DENSE, UNKNOWN -> QuantMethod.STATIC;
                    case NLP_ENCODER, RECURRENT -> QuantMethod.DYNAMIC;
                    case DECODER_LLM -> throw new IllegalStateException("handled above");
                };
                reason = "auto: " + kind.reason() + " → " + method;
            }
        }
        if (method.requiresCalibrationData() && !in.calibrationData()) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT, "method " + method
                + (method.dataForm() == QuantMethod.DataForm.MODEL_INPUTS
                    ? " needs calibration data (.npz, one array per model input, or text with a tokenizer)"
                    : " needs calibration data (text with the tokenizer, or .npz with 'input_ids' windows / 'tokens'); "
                        + "method " + QuantMethod.RTN + " needs none"));
        }
        if (method.needsTrainingData() && !(in.trainingData() && in.allowRetraining())) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT,
                "method " + method + " fine-tunes the model: it needs training data (.npz like the validation data, "
                    + "'labels' optional) and allowRetraining=true");
        }
        return new Choice(method, reason, fallbacks(method, in));
    }

    /**
     * static → qat (when retraining is allowed), fp16; dynamic → static (with calibration data), fp16;
     * rtn → gptq, awq (with calibration data); gptq → awq; awq → gptq; qat, fp16, bf16 → none. A fallback that needs
     * data the job does not have is left out.
     */
    static List<QuantMethod> fallbacks(QuantMethod method, Inputs in) {
        List<QuantMethod> candidates = switch (method) {
            case STATIC -> List.of(QuantMethod.QAT, QuantMethod.FP16);
            case DYNAMIC -> List.of(QuantMethod.STATIC, QuantMethod.FP16);
            case RTN -> List.of(QuantMethod.GPTQ, QuantMethod.AWQ);
            case GPTQ -> List.of(QuantMethod.AWQ);
            case AWQ -> List.of(QuantMethod.GPTQ);
            case QAT, FP16, BF16 -> List.of();
        };
        List<QuantMethod> out = new ArrayList<>();
        for (QuantMethod m : candidates) {
            boolean dataOk = (!m.requiresCalibrationData() || in.calibrationData())
                && (!m.needsTrainingData() || (in.trainingData() && in.allowRetraining()));
            if (dataOk) {
                out.add(m);
            }
        }
        return out;
    }
}
