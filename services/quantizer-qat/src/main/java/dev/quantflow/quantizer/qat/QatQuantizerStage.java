package dev.quantflow.quantizer.qat;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.IsaSummary;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.TrainingParams;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.stages.QuantizerOutputs;
import dev.quantflow.pipeline.stages.QuantizerStage;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaRecipe;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.qat.QatDataset;
import dev.quantflow.qat.QatGraph;
import dev.quantflow.qat.QatQdqExporter;
import dev.quantflow.qat.QatRecipe;
import dev.quantflow.qat.QatTrainer;
import dev.quantflow.qat.UnsupportedOpException;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * The QAT pool: fake-quantization inserted into the user's fp32 ONNX model (weights per the recipe's bits, per tensor
 * or per channel; activations UINT8), activation ranges initialised from the training data, fine-tuned in Java by
 * distillation from the fp32 model (plus cross-entropy when the training data has labels), then exported as a QDQ
 * model for ONNX Runtime. The same graph before any step — plain PTQ at the same settings — is exported too and
 * sent to the validator as the baseline, so the report shows what training recovered. Training progress (step, loss,
 * learning rate) is published as job status.
 */
@ApplicationScoped
public class QatQuantizerStage extends QuantizerStage {

    private static final Logger LOG = Logger.getLogger(QatQuantizerStage.class);
    /** Status updates during training: at most this many per run. */
    private static final int STATUS_UPDATES = 20;

    public QatQuantizerStage() {
        super(QuantMethod.QAT);
    }

    @Override
    protected void quantize(QuantizeRequested event, Accepted job, StageContext ctx) throws Exception {
        IsaRecipe isa = isaRecipe(job.recipe(), CpuFeatures.host());
        QatRecipe qat = toQatRecipe(job.recipe(), isa);
        if (job.context().getInputs().getTraining() == null) {
            throw new PermanentStageException(ReasonCodes.MISSING_INPUT, "QAT needs training data; the job has none");
        }
        Fp32Model fp32 = loadModel(job.context());
        OnnxModel model = fp32.model();
        QatDataset training = dataset(model, Artifacts.load(store, job.context().getInputs().getTraining(), "the training data"));
        ctx.status(JobStates.RUNNING, 0.0, String.format("QAT W%dA8 %s: %d steps, batch %d, learning rate %.2g%s on %d samples",
            qat.weightBits(), qat.perChannelWeights() ? "per channel" : "per tensor", qat.steps(), qat.batchSize(),
            qat.learningRate(), qat.learnedStepSizes() ? ", learned scales (LSQ)" : "", training.count()) + "; "
            + isa.headline());

        QatTrainer trainer = new QatTrainer(qat);
        QatGraph student;
        QatGraph teacher;
        try {
            student = trainer.prepare(model, training);
            teacher = QatGraph.fromOnnx(model);
        } catch (UnsupportedOpException e) {
            throw new PermanentStageException(ReasonCodes.UNSUPPORTED_OP, e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.QUANTIZATION_FAILED, e.getMessage(), e);
        }
        byte[] ptq = QatQdqExporter.export(student).toByteArray();
        List<QuantizationSummary.LossPoint> curve = new ArrayList<>();
        double[] initialLoss = {Double.NaN};
        int every = Math.max(1, qat.steps() / STATUS_UPDATES);
        QatTrainer.Result result = trainer.fineTune(student, teacher, training, (step, total, loss, lr) -> {
            if (step == 1) {
                initialLoss[0] = loss;
            }
            if (step % every == 0 || step == total) {
                curve.add(new QuantizationSummary.LossPoint(step, loss, lr));
                ctx.status(JobStates.RUNNING, 0.05 + 0.9 * step / Math.max(1, total),
                    String.format("training step %d/%d, loss %.4f, lr %.2g", step, total, loss, lr));
            }
        });
        byte[] quantized = QatQdqExporter.export(result.model()).toByteArray();
        LOG.infof("job %s attempt %d: QAT %d steps in %.1f s, final loss %.4f, %d -> %d bytes", ctx.jobId(), ctx.attempt(),
            result.steps(), result.seconds(), result.finalLoss(), fp32.bytes().length, quantized.length);

        // A diverged loss (NaN, ∞) is not a JSON number: StageJson writes it as a string ("NaN") and reads it back.
        QuantizationSummary summary = QuantizationSummary.qat(qat.weightBits(), qat.perChannelWeights(),
            qat.learnedStepSizes(), result.steps(), qat.batchSize(), qat.learningRate(), training.count(),
            training.labels() != null && qat.crossEntropyWeight() > 0, result.seconds(), initialLoss[0], result.finalLoss(),
            curve, fp32.bytes().length, quantized.length).withIsa(isaSummary(isa));
        QuantizerOutputs.publish(ctx, store, job.context(), null, quantized, "model.qat.int8.onnx", summary,
            "fine-tuned " + result.steps() + " steps (final loss " + String.format("%.4f", result.finalLoss()) + ")",
            ptq, "baseline.ptq.onnx");
    }

    /**
     * The ISA-dependent decisions: the range of 8-bit weights for the recipe's {@code targetHardwareClass}, else for
     * {@code host} (the recipe's {@code reduceRangeWeights} wins where set); other weight bits are the recipe's. The
     * exported activations are u8 whatever the ISA.
     *
     * @throws PermanentStageException INVALID_REQUEST for an unknown class
     */
    static IsaRecipe isaRecipe(Recipe recipe, CpuFeatures host) {
        IsaRecipe isa;
        try {
            isa = IsaRecipe.resolve(recipe.getTargetHardwareClass(), recipe.getReduceRangeWeights(), host);
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, e.getMessage(), e);
        }
        isa = isa.withActivationType(ActivationType.UINT8, "u8 activations: the QAT export writes uint8 activation QDQ");
        if (recipe.getBits() != 8 && recipe.getBits() >= 2 && recipe.getBits() < 8) {
            isa = isa.withWeightBits(recipe.getBits(), recipe.getBits() + "-bit weights: set by the recipe (bits = "
                + recipe.getBits() + "); the 7/8-bit rule is for 8-bit weights");
        }
        return isa;
    }

    /**
     * The event's recipe as the trainer's recipe (defaults of {@link TrainingParams} where the job has none). 8-bit
     * weights train and export on the ISA's grid: 7-bit where ONNX Runtime's u8·s8 kernels would saturate with
     * full-range weights (x86 without VNNI), so that the exported model computes what was trained.
     */
    static QatRecipe toQatRecipe(Recipe r, IsaRecipe isa) {
        TrainingParams t = r.getTraining() == null ? TrainingParams.newBuilder().build() : r.getTraining();
        try {
            int warmup = Math.max(0, Math.min(t.getSteps() / 20, t.getSteps() - 1));
            int weightBits = r.getBits() == 8 ? isa.weightBits() : r.getBits();
            return new QatRecipe(weightBits, t.getPerChannelWeights(), t.getLearnableScales(), t.getSteps(),
                t.getBatchSize(), t.getLearningRate(), 1.0, warmup, 4.0, t.getDistillationWeight(), t.getLabelWeight(), 4,
                t.getSeed());
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, "training parameters: " + e.getMessage(), e);
        }
    }

    /** The QAT grid of {@code bits}: [-127, 127] at 8 bits, else [-2^(b-1), 2^(b-1) - 1] (QatFakeQuant's). */
    static IsaSummary isaSummary(IsaRecipe isa) {
        int bits = isa.weightBits();
        List<Integer> range = bits == 8 ? IsaSummary.symmetricRange(127) : List.of(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
        return new IsaSummary(isa.isaClass().id(), isa.source(), isa.cpuModel(), isa.flags(), bits, range, "uint8",
            isa.headline(), isa.reasons());
    }

    /** The training .npz (one float array named like the model input, optional int 'labels') as a trainer dataset. */
    static QatDataset dataset(OnnxModel model, byte[] npz) {
        try {
            NpzArchive data = NpzArchive.read(new ByteArrayInputStream(npz));
            String input = model.inputs().get(0).name();
            NdArray x = data.get(input).orElseThrow(() -> new PermanentStageException(ReasonCodes.DATASET_MISMATCH,
                "training data has no array '" + input + "' (the model input); it has " + data.names()));
            long[] shape = x.shape();
            int[] sample = new int[shape.length - 1];
            for (int i = 1; i < shape.length; i++) {
                sample[i - 1] = Math.toIntExact(shape[i]);
            }
            int[] labels = null;
            if (data.contains("labels")) {
                long[] l = data.array("labels").toLongs();
                labels = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    labels[i] = Math.toIntExact(l[i]);
                }
            }
            return new QatDataset(x.toFloats(), sample, labels);
        } catch (DatasetException | IllegalArgumentException | ArithmeticException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_DATASET, "training data: " + e.getMessage(), e);
        }
    }
}
