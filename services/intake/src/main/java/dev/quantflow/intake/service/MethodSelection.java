package dev.quantflow.intake.service;

import java.util.ArrayList;
import java.util.List;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.ReasonCodes;

/**
 * The workflow's method selection: the requested method, or with {@code auto} the one the model's kind calls for
 * (vision → static, NLP encoder / recurrent → dynamic, decoder-only LM → the 4-bit LLM path, not available yet);
 * plus the fallback methods the debug loop may switch to when the chosen one cannot reach the target.
 */
public final class MethodSelection {

    /** Methods whose worker pool exists. */
    public static final List<String> AVAILABLE = List.of("static", "dynamic", "fp16", "bf16");

    public record Choice(String method, String reason, List<String> fallbacks) {
        public boolean needsCalibration() {
            return needsCalibration(method);
        }

        public static boolean needsCalibration(String method) {
            return "static".equals(method);
        }
    }

    private MethodSelection() {
    }

    public static Choice choose(String requested, OnnxModel model, boolean hasCalibrationData) {
        String method = requested == null || requested.isBlank() ? "static" : requested.trim().toLowerCase();
        String reason;
        if (method.equals("auto")) {
            ModelInspector.Kind kind = ModelInspector.inspect(model);
            method = switch (kind.family()) {
                case VISION, UNKNOWN -> "static";
                case NLP_ENCODER, RECURRENT -> "dynamic";
                case DECODER_LLM -> throw new RejectedInputException(422, ReasonCodes.UNSUPPORTED_METHOD,
                    "auto: " + kind.reason() + "; such models go to 4-bit GPTQ/AWQ, which is not available in this "
                        + "version; choose a method explicitly (" + String.join(", ", AVAILABLE) + ")");
            };
            reason = "auto: " + kind.reason() + " → " + method;
        } else if (AVAILABLE.contains(method)) {
            reason = "requested";
        } else {
            throw new RejectedInputException(422, ReasonCodes.UNSUPPORTED_METHOD, "method '" + method
                + "' is not available in this version; available: " + String.join(", ", AVAILABLE) + " (or auto)");
        }
        if (Choice.needsCalibration(method) && !hasCalibrationData) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT, "method " + method
                + " needs calibration data (.npz, one array per model input, or text with a tokenizer)");
        }
        return new Choice(method, reason, fallbacks(method, hasCalibrationData));
    }

    /** static → fp16; dynamic → static (with calibration data), fp16; fp16 / bf16 → none. */
    static List<String> fallbacks(String method, boolean hasCalibrationData) {
        List<String> out = new ArrayList<>();
        switch (method) {
            case "static" -> out.add("fp16");
            case "dynamic" -> {
                if (hasCalibrationData) {
                    out.add("static");
                }
                out.add("fp16");
            }
            default -> { }
        }
        return out;
    }
}
