package dev.quantflow.intake.service;

import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.Preparation;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.prepare.ModelPreparation;
import dev.quantflow.onnx.prepare.PreparationReport;
import dev.quantflow.onnx.prepare.PreparationResult;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.dataset.SampleAxes;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.prepare.ModelPreparationException;
import dev.quantflow.runtime.prepare.ModelPreparer;
import dev.quantflow.runtime.prepare.PreparationOptions;
import dev.quantflow.runtime.prepare.PreparedModel;

/**
 * Model preparation at submit, before the method is chosen: the exports users bring (paddle2onnx, tf2onnx, old
 * torch: opset 7..12, weights as {@code Constant} nodes, BatchNormalization unfolded) are rewritten into the form
 * the quantizers understand ({@link ModelPreparation}) and proven in ONNX Runtime to compute what the upload does
 * ({@link ModelPreparer}); every later stage gets the prepared model.
 *
 * <ol>
 *   <li>The rewriting runs once without shapes (pure Java). A model at opset 13 or newer whose graph it leaves as it
 *       was (nothing to fold or rewrite) is used as uploaded: no ONNX Runtime run, no extra model artifact.</li>
 *   <li>Otherwise the check runs on the first {@value #SAMPLE_ROWS} rows of the calibration data (the validation data
 *       when there is none), read with {@link NpzArchive#readHead} so the rest of the file is never held; text data
 *       is tokenized first, as the stages will get it; without usable data, on inputs ModelPreparer synthesizes.</li>
 *   <li>A refusal (an op or opset the upgrade cannot move, a prepared model that does not match) is a 422
 *       INVALID_MODEL with the op and opset or the numbers, before anything is stored.</li>
 *   <li>For {@code auto}, the tensor shapes of one more run on the first row (dynamic H and W bound from the data)
 *       go to the MAC estimate of method selection.</li>
 * </ol>
 */
final class ModelIntakePreparation {

    private static final Logger LOG = Logger.getLogger(ModelIntakePreparation.class);

    /** Rows of the job's data the prepared model is checked on (the check's default sample count). */
    static final int SAMPLE_ROWS = PreparationOptions.DEFAULT_SAMPLES;
    /** The opset from which a model whose graph needs no rewrite is used as uploaded. */
    static final long MODERN_OPSET = 13;

    /**
     * The model every stage uses and what preparation did.
     *
     * @param bytes   the prepared model's bytes, or the upload's when nothing changed
     * @param model   the same, parsed
     * @param report  the counts and the check, for the report's {@code preparation} section (keys filled at store)
     * @param shapes  tensor shapes of the model on one row of the data, for auto's MAC estimate (empty without .npz
     *                data, for a named method, or for a model used as uploaded whose declared shapes already make
     *                the estimate complete)
     */
    record Outcome(byte[] bytes, OnnxModel model, Preparation report, Map<String, long[]> shapes) {
        boolean changed() {
            return Boolean.TRUE.equals(report.changed());
        }

        /** The section with the store keys of both models. */
        Preparation withKeys(String originalKey, String preparedKey) {
            Preparation p = report;
            return new Preparation(p.changed(), p.opsetFrom(), p.opsetTo(), p.nodesBefore(), p.nodesAfter(),
                p.constantsToInitializers(), p.foldedConstantNodes(), p.removedIdentities(), p.removedDropouts(),
                p.upgradedOps(), p.foldedBatchNorms(), p.batchNormsToMulAdd(), p.hardSwishRecognized(),
                p.relu6Recognized(), p.notes(), p.checkedInputs(), p.checkedFromData(), p.maxAbsDiff(),
                p.maxScaledDiff(), p.tolerance(), p.seconds(), originalKey, changed() ? preparedKey : null);
        }
    }

    private ModelIntakePreparation() {
    }

    /**
     * @param modelBytes  the upload, already loaded in ONNX Runtime by {@link InputValidator#checkModel}
     * @param parsed      the same, parsed
     * @param calibration the calibration data as sent (.npz or text), or null
     * @param validation  the validation data as sent
     */
    static Outcome prepare(byte[] modelBytes, OnnxModel parsed, byte[] calibration, byte[] validation) {
        return prepare(modelBytes, parsed, new Data(calibration, null, validation, null, null), true);
    }

    /**
     * The job's data as sent: .npz, or text (plain lines / JSONL, named by the file name) with the tokenizer.
     *
     * @param calibration     null when the job has none
     * @param calibrationName file name or object key of the calibration data (decides the text format)
     */
    record Data(byte[] calibration, String calibrationName, byte[] validation, String validationName,
                byte[] tokenizer) {
    }

    /**
     * @param shapesWanted whether to run the model once more for {@link Outcome#shapes} (auto's MAC estimate needs
     *                     them; a named method does not)
     */
    static Outcome prepare(byte[] modelBytes, OnnxModel parsed, Data given, boolean shapesWanted) {
        byte[] calibration = given.calibration();
        byte[] validation = given.validation();
        long started = System.nanoTime();
        PreparationResult dry;
        try {
            dry = ModelPreparation.prepare(parsed);
        } catch (OnnxFormatException e) {
            throw refused(e.getMessage());
        }
        boolean fromCalibration = calibration != null && TextInputs.isNpz(calibration);
        byte[] data = fromCalibration ? calibration : validation != null && TextInputs.isNpz(validation) ? validation : null;
        String what = fromCalibration ? "calibration data" : "validation data";
        if (!needsPreparation(parsed, dry)) {
            PreparationReport r = dry.report();
            Preparation unchanged = new Preparation(false, r.opsetFrom(), r.opsetFrom(), r.nodesBefore(),
                r.nodesBefore(), 0, 0, 0, 0, Map.of(), 0, 0, 0, r.recognizedRelu6(), r.notes(), null, null, null, null,
                null, seconds(started), null, null);
            return new Outcome(modelBytes, parsed, unchanged, shapesWanted && data != null
                ? shapesOfUnchanged(parsed, data, what) : Map.of());
        }

        if (data == null && given.tokenizer() != null) { // text data: tokenized as the stages will get it
            fromCalibration = calibration != null;
            what = fromCalibration ? "calibration data" : "validation data";
            data = tokenized(parsed, fromCalibration ? calibration : validation,
                fromCalibration ? given.calibrationName() : given.validationName(), given.tokenizer(), what);
        }
        NpzArchive sample = data == null ? null : sample(parsed, data, what, SAMPLE_ROWS);
        PreparationOptions options = PreparationOptions.defaults();
        if (sample != null) {
            options = options.withSamples(rows(parsed, sample)); // rows of the data only: no synthesized inputs
        }
        PreparedModel prepared;
        Map<String, long[]> shapes;
        try {
            prepared = ModelPreparer.prepare(modelBytes, sample, options);
            shapes = sample == null || !shapesWanted ? Map.of() : ModelPreparer.intermediateShapes(prepared.model(),
                firstRow(prepared.model(), sample), options.threads());
        } catch (ModelPreparationException e) {
            throw refused(e.getMessage());
        } catch (ModelRunException e) {
            throw refused(firstLine(e.getMessage()) + (sample == null ? "" : " (on the first rows of the "
                + (fromCalibration ? "calibration" : "validation") + " data)"));
        } catch (OnnxFormatException e) {
            throw refused(e.getMessage());
        }
        PreparationReport r = prepared.report();
        var check = prepared.check();
        Preparation section = new Preparation(true, r.opsetFrom(), r.opsetTo(), r.nodesBefore(), r.nodesAfter(),
            r.constantsToInitializers(), r.foldedConstantNodes(), r.removedIdentities(), r.removedDropouts(),
            r.upgradedOps(), r.foldedBatchNorms(), r.standaloneBatchNormsToMulAdd(), r.recognizedHardSwish(),
            r.recognizedRelu6(), r.notes(), check.samples(), check.fromData(), check.maxAbsDiff(), check.maxScaledDiff(),
            check.tolerance(), seconds(started), null, null);
        LOG.infof("model prepared in %.2f s: %s; checked: %s", section.seconds(), r.summary(), check.summary());
        return new Outcome(prepared.model().toByteArray(), prepared.model(), section, shapes);
    }

    /**
     * Whether the model needs preparing: an opset below {@value #MODERN_OPSET} (what the quantizers need), or a graph
     * the rewriting changes. A model at 13..16 whose graph stays as it is keeps its opset: moving only the import
     * to 17 would change nothing a stage uses. A BatchNormalization the rewriting kept for want of shapes may still
     * be written as Mul + Add once the shape run knows its rank, so such a model is prepared too.
     */
    private static boolean needsPreparation(OnnxModel parsed, PreparationResult dry) {
        return parsed.opsetVersion() < MODERN_OPSET || !dry.model().graph().equals(parsed.graph())
            || dry.model().graph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("BatchNormalization"));
    }

    /** Text data as the .npz the stages will read; null when it cannot be (the dataset checks say why later). */
    private static byte[] tokenized(OnnxModel model, byte[] text, String name, byte[] tokenizer, String what) {
        try {
            return TextInputs.toNpz(model, text, name, tokenizer, what);
        } catch (RejectedInputException | DatasetException e) {
            LOG.debugf("%s cannot be tokenized for the preparation check: %s", what, e.getMessage());
            return null;
        }
    }

    /**
     * Shapes of a model used as uploaded, on the first row of the data, when its declared shapes leave the MAC
     * estimate incomplete (dynamic H and W, …). Empty when they do not, for a decoder-only LM (every intermediate of
     * a long sequence would be held at once; its method does not come from the estimate), and when that row does not
     * fit the model or ONNX Runtime cannot run it (the dataset check and the stages say why, in their words).
     */
    private static Map<String, long[]> shapesOfUnchanged(OnnxModel model, byte[] npz, String what) {
        ModelInspector.Kind declared = ModelInspector.inspect(model);
        if (declared.family() == ModelInspector.Family.DECODER_LLM
            || declared.estimate() != null && declared.estimate().complete()) {
            return Map.of();
        }
        try {
            NpzArchive row = sample(model, npz, what, 1);
            return ModelPreparer.intermediateShapes(model, firstRow(model, row), 1);
        } catch (RejectedInputException | ModelRunException | DatasetException e) {
            LOG.debugf("no tensor shapes for the MAC estimate: %s", e.getMessage());
            return Map.of();
        }
    }

    /**
     * The first rows of the model's input arrays. What is wrong with them is wrong with the file, so it is refused
     * here with the words the full dataset check uses.
     */
    private static NpzArchive sample(OnnxModel model, byte[] npz, String what, int rows) {
        List<String> inputs = model.inputs().stream().map(OnnxModel.ValueInfo::name).toList();
        NpzArchive head;
        try {
            head = NpzArchive.readHead(new ByteArrayInputStream(npz), inputs, rows);
        } catch (DatasetException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, what + ": " + e.getMessage());
        }
        head = headAlongSampleAxes(model, head, rows);
        List<String> problems = DatasetCheck.check(model, head, false);
        if (!problems.isEmpty()) {
            throw new RejectedInputException(422, ReasonCodes.DATASET_MISMATCH, what + ": " + String.join(" ", problems));
        }
        return head;
    }

    /**
     * {@link NpzArchive#readHead} cuts along axis 0; an input whose samples lie along another axis (a state
     * [2, batch, H]) is cut here to the same rows, so that every input holds the same samples.
     */
    private static NpzArchive headAlongSampleAxes(OnnxModel model, NpzArchive head, int rows) {
        List<NdArray> arrays = new java.util.ArrayList<>();
        boolean changed = false;
        for (NdArray a : head.arrays()) {
            OnnxModel.ValueInfo in = model.inputs().stream().filter(v -> v.name().equals(a.name())).findFirst()
                .orElse(null);
            int axis = in == null ? 0 : SampleAxes.axis(model, in, a);
            if (axis > 0 && a.shape()[axis] > rows) {
                arrays.add(a.slice(axis, 0, rows));
                changed = true;
            } else {
                arrays.add(a);
            }
        }
        return changed ? NpzArchive.of(arrays) : head;
    }

    private static int rows(OnnxModel model, NpzArchive sample) {
        return SampleAxes.samples(model, sample);
    }

    private static Map<String, NdArray> firstRow(OnnxModel model, NpzArchive sample) {
        Map<String, NdArray> row = new java.util.LinkedHashMap<>();
        for (OnnxModel.ValueInfo in : model.inputs()) {
            NdArray a = sample.array(in.name());
            row.put(in.name(), SampleAxes.slice(a, SampleAxes.axis(model, in, a), 0, 1));
        }
        return row;
    }

    private static RejectedInputException refused(String reason) {
        return new RejectedInputException(422, ReasonCodes.INVALID_MODEL,
            reason.startsWith("model preparation") ? reason : "model preparation: " + reason);
    }

    private static double seconds(long startedNanos) {
        return (System.nanoTime() - startedNanos) / 1e9;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unknown error";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
