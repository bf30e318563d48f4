package dev.quantflow.contracts;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Which CPU an INT8 recipe was made for and what that decided: the {@code isa} part of a static, dynamic or QAT
 * quantizer's {@code summary.json}, shown as {@code quantization.isa} in {@code report.json}.
 *
 * @param hardwareClass  e.g. {@code x86-avx512-vnni} (the hardware-profiler's class names)
 * @param source         {@code target} (the recipe's {@code targetHardwareClass}) or {@code host} (the quantizer's CPU)
 * @param cpuModel       the quantizer host's CPU when {@code source} is {@code host}
 * @param flags          the CPU flags the class was read from (for a target: the flag that defines it)
 * @param weightBits     7 ({@code reduce_range}) or 8; fewer for low-bit QAT weights
 * @param weightRange    the weight codes' range, e.g. {@code [-127, 127]}
 * @param activationType {@code uint8} or {@code int8}
 * @param headline       the report's line, e.g. {@code recipe made for x86-avx2: 7-bit weights (no VNNI), u8 activations}
 * @param reasons        one line per decision (weights, activations), with the numbers and flags behind it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record IsaSummary(String hardwareClass, String source, String cpuModel, List<String> flags, Integer weightBits,
                         List<Integer> weightRange, String activationType, String headline, List<String> reasons) {

    /** A symmetric weight range {@code [-max, max]}. */
    public static List<Integer> symmetricRange(int max) {
        return List.of(-max, max);
    }
}
