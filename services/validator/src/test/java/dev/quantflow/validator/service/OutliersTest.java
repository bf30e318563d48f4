package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import dev.quantflow.quant.calib.OutlierSummary;

class OutliersTest {

    @Test
    void aFewExtremeValuesDominateTheRangeButSparseTensorsDoNot() {
        assertThat(Outliers.dominated(new OutlierSummary(50f, 1f))).isTrue();
        assertThat(Outliers.dominated(new OutlierSummary(3.5f, 1f))).isFalse();
        assertThat(Outliers.dominated(new OutlierSummary(7f, 0f))).isFalse();
        assertThat(Outliers.dominated(new OutlierSummary(0f, 0f))).isFalse();
    }
}
