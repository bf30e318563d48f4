package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Multiply-accumulates of one forward pass, per op family, as {@link MacEstimator} counted them.
 *
 * @param macs          MACs per family (every family present, 0 when none)
 * @param nodes         nodes counted per family
 * @param unknown       Conv/MatMul/Gemm/attention/recurrent nodes whose MACs could not be counted because a shape
 *                      was not known, each as {@code "Conv 'name'"}; while any is listed the estimate is
 *                      {@linkplain #complete() incomplete}
 * @param unknownOther  other arithmetic nodes left uncounted for want of a shape (small work; does not make the
 *                      estimate incomplete)
 * @param batchAssumed  a symbolic first dimension of a graph input was taken as 1 (the counts are per sample)
 */
public record MacEstimate(Map<MacEstimator.OpFamily, Long> macs, Map<MacEstimator.OpFamily, Integer> nodes,
                          List<String> unknown, int unknownOther, boolean batchAssumed) {

    public MacEstimate {
        EnumMap<MacEstimator.OpFamily, Long> m = new EnumMap<>(MacEstimator.OpFamily.class);
        EnumMap<MacEstimator.OpFamily, Integer> n = new EnumMap<>(MacEstimator.OpFamily.class);
        for (MacEstimator.OpFamily f : MacEstimator.OpFamily.values()) {
            m.put(f, macs.getOrDefault(f, 0L));
            n.put(f, nodes.getOrDefault(f, 0));
        }
        macs = Collections.unmodifiableMap(m);
        nodes = Collections.unmodifiableMap(n);
        unknown = List.copyOf(unknown);
    }

    public long total() {
        long t = 0;
        for (long v : macs.values()) {
            t = saturatingAdd(t, v);
        }
        return t;
    }

    /** True when every Conv/MatMul/Gemm/attention/recurrent node was counted. */
    public boolean complete() {
        return unknown.isEmpty();
    }

    /** The family's fraction of {@link #total()}; 0 when nothing was counted. */
    public double share(MacEstimator.OpFamily family) {
        long t = total();
        return t == 0 ? 0 : (double) macs.get(family) / t;
    }

    /**
     * The compute family (convolution, weight MatMul/Gemm, attention, recurrent; never {@code OTHER}) with the most
     * MACs; empty when none has any. Ties go to the family declared first.
     */
    public Optional<MacEstimator.OpFamily> dominant() {
        MacEstimator.OpFamily best = null;
        for (MacEstimator.OpFamily f : MacEstimator.OpFamily.values()) {
            if (f != MacEstimator.OpFamily.OTHER && macs.get(f) > 0 && (best == null || macs.get(f) > macs.get(best))) {
                best = f;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * E.g. {@code "Conv 94.2% of 17.3 M MACs per sample (MatMul/Gemm 0.1%, other 5.7%)"}: the dominant family first,
     * then the others that have any.
     */
    public String summary() {
        long t = total();
        if (t == 0) {
            return "no multiply-accumulates counted";
        }
        MacEstimator.OpFamily top = dominant().orElse(MacEstimator.OpFamily.OTHER);
        StringBuilder s = new StringBuilder(top.label() + " " + percent(share(top)) + " of " + count(t) + " MACs"
            + (batchAssumed ? " per sample" : ""));
        List<String> rest = new ArrayList<>();
        for (MacEstimator.OpFamily f : MacEstimator.OpFamily.values()) {
            if (f != top && macs.get(f) > 0) {
                rest.add(f.label() + " " + percent(share(f)));
            }
        }
        if (!rest.isEmpty()) {
            s.append(" (").append(String.join(", ", rest)).append(')');
        }
        return s.toString();
    }

    /** Why the estimate is incomplete, e.g. {@code "3 of 53 Conv/MatMul/… nodes have no known shape (Conv 'c1', …)"}. */
    public String missing() {
        int counted = 0;
        for (MacEstimator.OpFamily f : MacEstimator.OpFamily.values()) {
            if (f != MacEstimator.OpFamily.OTHER) {
                counted += nodes.get(f);
            }
        }
        List<String> shown = unknown.subList(0, Math.min(3, unknown.size()));
        return unknown.size() + " of " + (counted + unknown.size()) + " Conv/MatMul/Gemm/attention/recurrent nodes "
            + "have no known shape (" + String.join(", ", shown) + (unknown.size() > shown.size() ? ", …" : "") + ")";
    }

    /** 786.8 k, 17.3 M, 1.45 G. */
    public static String count(long macs) {
        if (macs < 1_000) {
            return Long.toString(macs);
        }
        if (macs < 1_000_000) {
            return String.format(Locale.ROOT, "%.1f k", macs / 1e3);
        }
        if (macs < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.1f M", macs / 1e6);
        }
        if (macs < 1_000_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f G", macs / 1e9);
        }
        return String.format(Locale.ROOT, "%.2f T", macs / 1e12);
    }

    static String percent(double fraction) {
        if (fraction > 0 && fraction < 0.0005) {
            return "<0.1%";
        }
        return String.format(Locale.ROOT, "%.1f%%", fraction * 100);
    }

    static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
