package dev.quantflow.profiler.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LatencyStatsTest {

    @Test
    void nearestRankOnOneToHundred() {
        double[] v = new double[100];
        for (int i = 0; i < 100; i++) {
            v[i] = 100 - i; // descending: the summary must sort
        }
        LatencyStats s = LatencyStats.of(v);
        assertThat(s.p50Ms()).isEqualTo(50);
        assertThat(s.p95Ms()).isEqualTo(95);
        assertThat(s.p99Ms()).isEqualTo(99);
        assertThat(s.meanMs()).isEqualTo(50.5);
        assertThat(s.minMs()).isEqualTo(1);
        assertThat(s.maxMs()).isEqualTo(100);
        assertThat(v[0]).as("input untouched").isEqualTo(100);
    }

    @Test
    void fewRunsGiveMeasuredValues() {
        LatencyStats s = LatencyStats.of(new double[] {4, 1, 3, 2, 10});
        // ceil(0.5*5)=3rd, ceil(0.95*5)=5th, ceil(0.99*5)=5th of 1,2,3,4,10
        assertThat(s.p50Ms()).isEqualTo(3);
        assertThat(s.p95Ms()).isEqualTo(10);
        assertThat(s.p99Ms()).isEqualTo(10);
        assertThat(LatencyStats.percentile(new double[] {7}, 0)).isEqualTo(7);
        assertThatThrownBy(() -> LatencyStats.of(new double[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LatencyStats.percentile(new double[] {1}, 101)).isInstanceOf(IllegalArgumentException.class);
    }
}
