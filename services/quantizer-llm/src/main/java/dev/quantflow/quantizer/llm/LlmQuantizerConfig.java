package dev.quantflow.quantizer.llm;

import java.util.Arrays;
import java.util.List;

import io.smallrye.config.ConfigMapping;

import dev.quantflow.pipeline.QuantMethod;

/** Configuration of an LLM quantizer pool ({@code quantflow.llm.*}). */
@ConfigMapping(prefix = "quantflow.llm")
public interface LlmQuantizerConfig {

    /**
     * The method this process runs, by its wire name: {@code gptq}, {@code awq} or {@code rtn} (env
     * {@code QUANTFLOW_LLM_METHOD}; no default, so a process never joins a pool by accident). It picks the pool from
     * the {@link QuantMethod} registry: the topic it consumes ({@code method.topic()}), its consumer group and the
     * producer name in its events ({@code method.pool()}, e.g. {@code quantizer-awq}).
     */
    QuantMethod method();

    /** The wire names {@link #method()} accepts. */
    static List<String> llmMethods() {
        return Arrays.stream(QuantMethod.values()).filter(QuantMethod::isLlm).map(QuantMethod::wireName).toList();
    }
}
