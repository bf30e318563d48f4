package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Central-difference gradient checks of every op (see {@link GradientCheck} for the tolerance), odd sizes. */
class QatOpsGradientTest {

    private final SplittableRandom random = new SplittableRandom(20240601);

    @Test
    void convPlain() {
        QatOp conv = new QatOps.Conv(1, new int[] {1, 1}, new int[4], new int[] {1, 1}, "NOTSET");
        GradientCheck.check(conv, GradientCheck.random("x", random, 1, 2, 3, 7, 5),
            GradientCheck.random("w", random, 0.5, 4, 3, 3, 3), GradientCheck.random("b", random, 0.5, 4));
    }

    @Test
    void convStridedPaddedDilatedGrouped() {
        QatOp conv = new QatOps.Conv(2, new int[] {2, 1}, new int[] {1, 2, 0, 1}, new int[] {1, 2}, "NOTSET");
        GradientCheck.check(conv, GradientCheck.random("x", random, 1, 2, 4, 9, 8),
            GradientCheck.random("w", random, 0.5, 6, 2, 3, 2), GradientCheck.random("b", random, 0.5, 6));
    }

    @Test
    void convSameUpperWithoutBias() {
        QatOp conv = new QatOps.Conv(1, new int[] {2, 2}, new int[4], new int[] {1, 1}, "SAME_UPPER");
        QatTensor x = GradientCheck.random("x", random, 1, 1, 2, 5, 6);
        QatTensor out = new QatTensor("y", new int[] {0}, null, false, true);
        QatTensor w = GradientCheck.random("w", random, 0.5, 3, 2, 2, 3);
        conv.forward(new QatTensor[] {x, w}, out);
        assertThat(out.shape()).containsExactly(1, 3, 3, 3); // ceil(5/2), ceil(6/2)
        GradientCheck.check(conv, x, w);
    }

    @Test
    void convMatchesDirectSum() {
        // independent reference: the convolution written as its defining sum
        QatOp conv = new QatOps.Conv(1, new int[] {2, 1}, new int[] {1, 0, 1, 1}, new int[] {1, 1}, "NOTSET");
        QatTensor x = GradientCheck.random("x", random, 1, 2, 3, 6, 5);
        QatTensor w = GradientCheck.random("w", random, 1, 4, 3, 3, 2);
        QatTensor b = GradientCheck.random("b", random, 1, 4);
        QatTensor y = new QatTensor("y", new int[] {0}, null, false, false);
        conv.forward(new QatTensor[] {x, w, b}, y);
        int oh = (6 + 1 + 1 - 3) / 2 + 1;
        int ow = (5 + 0 + 1 - 2) + 1;
        assertThat(y.shape()).containsExactly(2, 4, oh, ow);
        for (int n = 0; n < 2; n++) {
            for (int m = 0; m < 4; m++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double s = b.data()[m];
                        for (int c = 0; c < 3; c++) {
                            for (int ki = 0; ki < 3; ki++) {
                                for (int kj = 0; kj < 2; kj++) {
                                    int ih = i * 2 - 1 + ki;
                                    int iw = j + kj;
                                    if (ih >= 0 && ih < 6 && iw >= 0 && iw < 5) {
                                        s += x.data()[((n * 3 + c) * 6 + ih) * 5 + iw]
                                            * w.data()[((m * 3 + c) * 3 + ki) * 2 + kj];
                                    }
                                }
                            }
                        }
                        assertThat((double) y.data()[((n * 4 + m) * oh + i) * ow + j]).isCloseTo(s,
                            org.assertj.core.data.Offset.offset(1e-5));
                    }
                }
            }
        }
    }

    @Test
    void gemmAllTransposes() {
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                int m = 3;
                int k = 5;
                int n = 4;
                QatOp gemm = new QatOps.Gemm(0.7f, 1.3f, ta == 1, tb == 1);
                QatTensor a = ta == 1 ? GradientCheck.random("a", random, 1, k, m) : GradientCheck.random("a", random, 1, m, k);
                QatTensor b = tb == 1 ? GradientCheck.random("b", random, 1, n, k) : GradientCheck.random("b", random, 1, k, n);
                GradientCheck.check(gemm, a, b, GradientCheck.random("c", random, 1, n));
                GradientCheck.check(gemm, a, b, GradientCheck.random("c", random, 1, m, 1));
            }
        }
    }

    @Test
    void matMulSharedAndBatched() {
        GradientCheck.check(new QatOps.MatMul(), GradientCheck.random("a", random, 1, 2, 3, 5),
            GradientCheck.random("b", random, 1, 5, 7));
        GradientCheck.check(new QatOps.MatMul(), GradientCheck.random("a", random, 1, 3, 2, 5),
            GradientCheck.random("b", random, 1, 3, 5, 3));
        assertThatThrownBy(() -> GradientCheck.check(new QatOps.MatMul(), GradientCheck.random("a", random, 1, 3, 2, 5),
            GradientCheck.random("b", random, 1, 1, 5, 3))).hasMessageContaining("broadcasting");
    }

    @Test
    void binaryOpsWithBroadcasting() {
        for (QatOps.BinaryKind kind : QatOps.BinaryKind.values()) {
            QatTensor a = GradientCheck.random("a", random, 1, 2, 3, 1, 5);
            // b in ±[0.5, 1.5]: away from 0, where Div's gradient would blow up
            QatTensor b = awayFromZero(GradientCheck.random("b", random, 1, 3, 4, 1));
            GradientCheck.check(new QatOps.Binary(kind), a, b);
            GradientCheck.check(new QatOps.Binary(kind), GradientCheck.random("a", random, 1, 3, 7),
                awayFromZero(GradientCheck.random("s", random, 1, 1)));
        }
    }

    private static QatTensor awayFromZero(QatTensor t) {
        for (int i = 0; i < t.size(); i++) {
            float v = t.data()[i];
            t.data()[i] = Math.copySign(0.5f + Math.abs(v), v);
        }
        return t;
    }

    @Test
    void broadcastAddValues() {
        QatTensor a = new QatTensor("a", new int[] {2, 1}, new float[] {1, 2}, false, false);
        QatTensor b = new QatTensor("b", new int[] {3}, new float[] {10, 20, 30}, false, false);
        QatTensor y = new QatTensor("y", new int[] {0}, null, false, false);
        new QatOps.Binary(QatOps.BinaryKind.ADD).forward(new QatTensor[] {a, b}, y);
        assertThat(y.shape()).containsExactly(2, 3);
        assertThat(y.values()).containsExactly(11, 21, 31, 12, 22, 32);
    }

    @Test
    void unaryOps() {
        GradientCheck.check(new QatOps.Unary(QatOps.UnaryKind.RELU), GradientCheck.distinct("x", random, 2, 3, 5, 7));
        GradientCheck.check(new QatOps.Unary(QatOps.UnaryKind.SIGMOID), GradientCheck.random("x", random, 3, 13));
        GradientCheck.check(new QatOps.Unary(QatOps.UnaryKind.IDENTITY), GradientCheck.random("x", random, 3, 2, 3));
        // Relu6: bounds at 0 and 6, values kept ≥ 3h away from both
        QatTensor x = GradientCheck.distinct("x", random, 9, 37);
        for (int i = 0; i < x.size(); i++) {
            if (Math.abs(x.data()[i] - 6f) < 0.05f) {
                x.data()[i] += 0.1f;
            }
        }
        GradientCheck.check(new QatOps.Clip(0f, 6f), x);
    }

    @Test
    void pools() {
        QatOp max = new QatOps.Pool(true, new int[] {3, 2}, new int[] {2, 2}, new int[] {1, 0, 1, 1},
            new int[] {1, 1}, "NOTSET", true, false);
        GradientCheck.check(max, GradientCheck.distinct("x", random, 4, 2, 3, 7, 9));
        QatOp max2 = new QatOps.Pool(true, new int[] {2, 2}, new int[] {2, 2}, new int[4], new int[] {1, 1},
            "NOTSET", false, false);
        GradientCheck.check(max2, GradientCheck.distinct("x", random, 4, 1, 2, 5, 5));
        for (boolean include : new boolean[] {false, true}) {
            QatOp avg = new QatOps.Pool(false, new int[] {3, 3}, new int[] {2, 1}, new int[] {1, 1, 1, 1},
                new int[] {1, 1}, "NOTSET", false, include);
            GradientCheck.check(avg, GradientCheck.random("x", random, 1, 2, 3, 7, 6));
        }
        GradientCheck.check(new QatOps.GlobalAveragePool(), GradientCheck.random("x", random, 1, 2, 3, 5, 3));
    }

    @Test
    void averagePoolDivisors() {
        // 3x3 input of ones, 3x3 window, pad 1: corner windows see 4 pixels of 9 positions
        QatTensor x = new QatTensor("x", new int[] {1, 1, 3, 3}, new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, false, false);
        QatTensor y = new QatTensor("y", new int[] {0}, null, false, false);
        new QatOps.Pool(false, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1},
            "NOTSET", false, true).forward(new QatTensor[] {x}, y);
        assertThat(y.data()[0]).isEqualTo(4f / 9f);
        new QatOps.Pool(false, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1},
            "NOTSET", false, false).forward(new QatTensor[] {x}, y);
        assertThat(y.data()[0]).isEqualTo(1f);
    }

    @Test
    void softmaxes() {
        GradientCheck.check(new QatOps.Softmax(false, 1, false), GradientCheck.random("x", random, 2, 2, 5, 3));
        GradientCheck.check(new QatOps.Softmax(true, -1, false), GradientCheck.random("x", random, 2, 3, 7));
        GradientCheck.check(new QatOps.Softmax(true, 1, true), GradientCheck.random("x", random, 2, 2, 3, 2));
    }

    @Test
    void batchNormAndShapes() {
        QatTensor var = GradientCheck.random("var", random, 0.5, 3);
        for (int i = 0; i < 3; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.5f;
        }
        QatTensor mean = new QatTensor("mean", new int[] {3}, new float[] {0.1f, -0.2f, 0.3f}, false, false);
        QatTensor varFrozen = new QatTensor("var", new int[] {3}, var.values(), false, false);
        GradientCheck.check(new QatOps.BatchNorm(1e-5f), GradientCheck.random("x", random, 1, 2, 3, 2, 3),
            GradientCheck.random("gamma", random, 1, 3), GradientCheck.random("beta", random, 1, 3), mean, varFrozen);
        GradientCheck.check(QatOps.Reshape.flatten(2), GradientCheck.random("x", random, 1, 2, 3, 2, 3));
        GradientCheck.check(QatOps.Reshape.to(new long[] {0, -1, 2}), GradientCheck.random("x", random, 1, 2, 3, 2, 3));
    }
}
