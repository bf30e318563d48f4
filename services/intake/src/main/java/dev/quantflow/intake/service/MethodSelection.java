package dev.quantflow.intake.service;

import java.util.ArrayList;
import java.util.List;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.ReasonCodes;

/**
 * The workflow's method selection: the requested method, or with {@code auto} the one the model's kind calls for
 * (vision → static, NLP encoder / recurrent → dynamic, decoder-only causal LM → 4-bit GPTQ with calibration data,
 * RTN without; a request that allows retraining and brings training data → QAT); plus the fallback methods the debug
 * loop may switch to when the chosen one cannot reach the target.
 */
public final class MethodSelection {

    /** Methods whose worker pool exists. */
    public static final List<String> AVAILABLE = List.of("static", "dynamic", "fp16", "bf16", "gptq", "awq", "rtn", "qat");

    /** What the request brings besides the model. */
    public record Inputs(boolean calibrationData, boolean trainingData, boolean allowRetraining) {
    }

    public record Choice(String method, String reason, List<String> fallbacks) {
        public boolean needsCalibration() {
            return needsCalibration(method);
        }

        /** Methods that run the calibration stage first (static ranges; GPTQ/AWQ layer-input statistics). */
        public static boolean needsCalibration(String method) {
            return "static".equals(method) || "gptq".equals(method) || "awq".equals(method);
        }
    }

    private MethodSelection() {
    }

    public static Choice choose(String requested, OnnxModel model, boolean hasCalibrationData) {
        return choose(requested, model, new Inputs(hasCalibrationData, false, false));
    }

    public static Choice choose(String requested, OnnxModel model, Inputs in) {
        String method = requested == null || requested.isBlank() ? "auto-default" : requested.trim().toLowerCase();
        String reason;
        boolean retrain = in.allowRetraining() && in.trainingData();
        if (method.equals("auto") || method.equals("auto-default")) {
            boolean explicitAuto = method.equals("auto");
            ModelInspector.Kind kind = model == null ? null : ModelInspector.inspect(model);
            if (kind != null && kind.family() == ModelInspector.Family.DECODER_LLM && explicitAuto) {
                method = in.calibrationData() ? "gptq" : "rtn";
                reason = "auto: " + kind.reason() + " → 4-bit weight-only " + method.toUpperCase()
                    + (in.calibrationData() ? "" : " (no calibration text was given; GPTQ/AWQ need it)");
            } else if (retrain && (kind == null || kind.family() == ModelInspector.Family.VISION
                || kind.family() == ModelInspector.Family.UNKNOWN)) {
                method = "qat";
                reason = (explicitAuto ? "auto: " + (kind == null ? "" : kind.reason() + "; ") : "")
                    + "retraining allowed and training data given → quantization-aware training";
            } else if (!explicitAuto) {
                method = "static";
                reason = "default";
            } else {
                method = switch (kind.family()) {
                    case VISION, UNKNOWN -> "static";
                    case NLP_ENCODER, RECURRENT -> "dynamic";
                    case DECODER_LLM -> throw new IllegalStateException("handled above");
                };
                reason = "auto: " + kind.reason() + " → " + method;
            }
        } else if (AVAILABLE.contains(method)) {
            reason = "requested";
        } else {
            throw new RejectedInputException(422, ReasonCodes.UNSUPPORTED_METHOD, "method '" + method
                + "' is not available in this version; available: " + String.join(", ", AVAILABLE) + " (or auto)");
        }
        if (Choice.needsCalibration(method) && !in.calibrationData()) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT, "method " + method
                + (method.equals("static") ? " needs calibration data (.npz, one array per model input, or text with a tokenizer)"
                    : " needs calibration data (text with the tokenizer, or .npz with 'input_ids' windows / 'tokens'); "
                        + "method rtn needs none"));
        }
        if (method.equals("qat") && !(in.trainingData() && in.allowRetraining())) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT,
                "method qat fine-tunes the model: it needs training data (.npz like the validation data, 'labels' optional) "
                    + "and allowRetraining=true");
        }
        return new Choice(method, reason, fallbacks(method, in));
    }

    /**
     * static → qat (when retraining is allowed), fp16; dynamic → static (with calibration data), fp16;
     * rtn → gptq, awq (with calibration data); gptq → awq; awq → gptq; qat, fp16, bf16 → none.
     */
    static List<String> fallbacks(String method, Inputs in) {
        List<String> out = new ArrayList<>();
        switch (method) {
            case "static" -> {
                if (in.allowRetraining() && in.trainingData()) {
                    out.add("qat");
                }
                out.add("fp16");
            }
            case "dynamic" -> {
                if (in.calibrationData()) {
                    out.add("static");
                }
                out.add("fp16");
            }
            case "rtn" -> {
                if (in.calibrationData()) {
                    out.add("gptq");
                    out.add("awq");
                }
            }
            case "gptq" -> out.add("awq");
            case "awq" -> out.add("gptq");
            default -> { }
        }
        return out;
    }

    static List<String> fallbacks(String method, boolean hasCalibrationData) {
        return fallbacks(method, new Inputs(hasCalibrationData, false, false));
    }
}
