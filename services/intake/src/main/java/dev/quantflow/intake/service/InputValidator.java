package dev.quantflow.intake.service;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.ModelSafety;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Everything intake checks before it accepts a job, so a bad input is refused with a reason instead of failing
 * three stages later: the model parses as ONNX and loads in ONNX Runtime; each dataset is a readable .npz with one
 * array per model input, of the right dtype and shape.
 */
public final class InputValidator {

    private InputValidator() {
    }

    /** The worker memory budget when none is configured (tests, tools). */
    public static final long DEFAULT_MEMORY_BUDGET = 8L << 30;

    public static OnnxModel checkModel(byte[] modelBytes) {
        return checkModel(modelBytes, DEFAULT_MEMORY_BUDGET);
    }

    /**
     * Parses, then refuses what ONNX Runtime must never act on: external-data paths (an upload is one file, so any is
     * a reference to a file of intake's host), tensors whose data does not hold what their dims claim, and declared
     * tensors over {@code memoryBudgetBytes}; only then loads the model in ONNX Runtime.
     */
    public static OnnxModel checkModel(byte[] modelBytes, long memoryBudgetBytes) {
        OnnxModel model;
        try {
            model = OnnxModel.parse(modelBytes);
        } catch (OnnxFormatException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_MODEL, "model: " + e.getMessage());
        }
        List<String> problems = new ArrayList<>(ModelSafety.externalDataProblems(model, null));
        problems.addAll(ModelSafety.payloadProblems(model));
        if (!problems.isEmpty()) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_MODEL, "model: " + String.join("; ",
                problems.size() > 5 ? problems.subList(0, 5) : problems) + (problems.size() > 5
                ? " (and " + (problems.size() - 5) + " more)" : ""));
        }
        String over = ModelSafety.overBudget(model, memoryBudgetBytes);
        if (over != null) {
            throw new RejectedInputException(422, ReasonCodes.MODEL_TOO_LARGE, "model: " + over
                + " (quantflow.intake.worker-memory-budget)");
        }
        try (OrtSession session = OrtModels.createSession(modelBytes, 1, OrtSession.SessionOptions.OptLevel.NO_OPT)) {
            session.getInputNames();
        } catch (ModelRunException | OrtException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_MODEL,
                "model: ONNX Runtime cannot load it: " + firstLine(e.getMessage()));
        }
        return model;
    }

    /**
     * @param what "calibration data" or "validation data"
     * @return the problems found (empty when the data fits the model)
     */
    public static NpzArchive checkDataset(OnnxModel model, byte[] npz, String what) {
        NpzArchive data;
        try {
            data = NpzArchive.read(new ByteArrayInputStream(npz));
        } catch (DatasetException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, what + ": " + e.getMessage());
        }
        List<String> problems = new ArrayList<>(DatasetCheck.check(model, data, false));
        if (!problems.isEmpty()) {
            throw new RejectedInputException(422, ReasonCodes.DATASET_MISMATCH, what + ": " + String.join(" ", problems));
        }
        return data;
    }

    /** Calibration and validation data must be normalized alike, or calibrated ranges miss the real inputs. */
    public static void checkRanges(OnnxModel model, NpzArchive calibration, NpzArchive validation) {
        List<String> problems = DatasetCheck.compareRanges(model, calibration, validation);
        if (!problems.isEmpty()) {
            throw new RejectedInputException(422, ReasonCodes.INPUT_RANGE_MISMATCH, String.join(" ", problems));
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unknown error";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
