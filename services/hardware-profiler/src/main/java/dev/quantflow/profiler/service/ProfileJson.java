package dev.quantflow.profiler.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;

/** The JSON form of a {@link ModelProfile} (the report artifact and the CLI's output). */
public final class ProfileJson {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
        .addModule(new Jdk8Module())
        .enable(SerializationFeature.INDENT_OUTPUT)
        .build();

    private ProfileJson() {
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static String write(ModelProfile profile) {
        try {
            return MAPPER.writeValueAsString(profile);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the profile as JSON", e);
        }
    }
}
