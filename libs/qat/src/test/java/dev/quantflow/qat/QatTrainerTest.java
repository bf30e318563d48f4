package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class QatTrainerTest {

    @Test
    void lossGradientMatchesCentralDifferences() {
        QatRecipe recipe = QatRecipe.w4a8PerTensor(10).withCrossEntropyWeight(0.5);
        QatTrainer trainer = new QatTrainer(recipe);
        SplittableRandom r = new SplittableRandom(11);
        int batch = 3;
        int classes = 5;
        float[] s = QatGraphTest.rand(r, batch * classes, 3);
        float[] t = QatGraphTest.rand(r, batch * classes, 3);
        int[] labels = {4, 0, 2};
        float[] grad = new float[s.length];
        trainer.lossAndGradient(s, t, labels, batch, classes, grad);
        float[] scratch = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            float keep = s[i];
            float h = 1e-2f;
            s[i] = keep + h;
            double plus = trainer.lossAndGradient(s, t, labels, batch, classes, scratch);
            s[i] = keep - h;
            double minus = trainer.lossAndGradient(s, t, labels, batch, classes, scratch);
            s[i] = keep;
            assertThat((double) grad[i]).as("logit %d", i).isCloseTo((plus - minus) / (2 * h), offset(1e-4));
        }
    }

    @Test
    void distillationLossIsZeroWhenStudentEqualsTeacher() {
        QatTrainer trainer = new QatTrainer(QatRecipe.w4a8PerTensor(10));
        float[] logits = {1f, -2f, 0.5f, 3f};
        float[] grad = new float[4];
        assertThat(trainer.lossAndGradient(logits, logits.clone(), null, 1, 4, grad)).isCloseTo(0, offset(1e-9));
        assertThat(grad).containsOnly(0f);
    }

    @Test
    void warmUpThenCosineSchedule() {
        QatRecipe recipe = new QatRecipe(4, false, true, 110, 8, 1e-3, 1, 10, 4, 1, 0, 1, 1);
        assertThat(recipe.learningRateAt(0)).isCloseTo(1e-4, offset(1e-12));
        assertThat(recipe.learningRateAt(9)).isCloseTo(1e-3, offset(1e-12));
        assertThat(recipe.learningRateAt(10)).isCloseTo(1e-3, offset(1e-12));
        assertThat(recipe.learningRateAt(60)).isCloseTo(5e-4, offset(1e-12)); // half-way through the cosine
        assertThat(recipe.learningRateAt(109)).isLessThan(1e-6);
    }

    @Test
    void sameInputsAndSeedGiveTheSameBytesAndReportEveryStep() {
        QatDataset calib = FashionFixture.calibration().head(64);
        QatRecipe recipe = QatRecipe.w4a8PerTensor(3).withBatchSize(16);
        List<Integer> seen = new ArrayList<>();
        QatTrainer.Result a = new QatTrainer(recipe).train(FashionFixture.model(), calib, calib,
            (step, total, loss, lr) -> {
                seen.add(step);
                assertThat(total).isEqualTo(3);
                assertThat(loss).isFinite().isGreaterThanOrEqualTo(0);
            });
        QatTrainer.Result b = new QatTrainer(recipe).train(FashionFixture.model(), calib, calib,
            QatProgressListener.NONE);
        assertThat(seen).containsExactly(1, 2, 3);
        assertThat(a.finalLoss()).isEqualTo(b.finalLoss());
        List<QatTensor> pa = a.model().trainableTensors();
        List<QatTensor> pb = b.model().trainableTensors();
        assertThat(pa).hasSameSizeAs(pb);
        boolean moved = false;
        QatGraph fresh = QatGraph.fromOnnx(FashionFixture.model());
        for (int i = 0; i < pa.size(); i++) {
            assertThat(pa.get(i).values()).as(pa.get(i).name()).containsExactly(pb.get(i).values());
            QatTensor original = fresh.parameters().get(pa.get(i).name());
            if (original != null && !java.util.Arrays.equals(original.values(), pa.get(i).values())) {
                moved = true;
            }
        }
        assertThat(moved).as("training changed the weights").isTrue();
    }
}
