package dev.quantflow.intake.rest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.jboss.resteasy.reactive.server.multipart.FormValue;
import org.jboss.resteasy.reactive.server.multipart.MultipartFormDataInput;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.quantflow.intake.service.JobSubmitter;
import dev.quantflow.intake.service.RejectedInputException;
import dev.quantflow.pipeline.ReasonCodes;

/**
 * A multipart submit as Quarkus received it: every file part already streamed to a temporary file on disk (deleted
 * when the request ends), the text fields as a JSON object of strings for {@link SubmitFields}. Sizes are checked
 * here from the files' lengths, before any byte of them is read into memory.
 */
final class UploadForm {

    static final Set<String> FILE_PARTS = Set.of("model", "calibration", "validation", "tokenizer", "training");

    private final Map<String, FormValue> files;
    private final ObjectNode fields;

    private UploadForm(Map<String, FormValue> files, ObjectNode fields) {
        this.files = files;
        this.fields = fields;
    }

    static UploadForm of(MultipartFormDataInput form, long maxPartBytes) {
        Map<String, FormValue> files = new HashMap<>();
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        for (Map.Entry<String, Collection<FormValue>> e : form.getValues().entrySet()) {
            String name = e.getKey();
            for (FormValue v : e.getValue()) {
                if (FILE_PARTS.contains(name)) {
                    if (files.put(name, v) != null) {
                        throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "part '" + name + "' is given twice");
                    }
                    long size = size(name, v);
                    if (size > maxPartBytes) {
                        throw new RejectedInputException(413, "UPLOAD_TOO_LARGE", name + " is " + mib(size)
                            + "; this intake takes at most " + mib(maxPartBytes) + " per upload (quantflow.intake.max-upload-size)");
                    }
                } else if (!v.isFileItem()) {
                    fields.put(name, v.getValue());
                } else {
                    throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "unknown file part '" + name
                        + "' (file parts: " + String.join(", ", FILE_PARTS.stream().sorted().toList()) + ")");
                }
            }
        }
        return new UploadForm(files, fields);
    }

    ObjectNode fields() {
        return fields;
    }

    /** The parts' bytes (the checks parse them whole; each is bounded by the size limit checked in {@link #of}). */
    JobSubmitter.Upload read() {
        FormValue calibration = files.get("calibration");
        FormValue validation = files.get("validation");
        return new JobSubmitter.Upload(bytes("model"), bytes("calibration"), bytes("validation"), bytes("tokenizer"),
            calibration == null ? null : calibration.getFileName(), validation == null ? null : validation.getFileName(),
            bytes("training"));
    }

    private byte[] bytes(String part) {
        FormValue v = files.get(part);
        if (v == null) {
            return null;
        }
        try {
            if (v.isFileItem()) {
                Path file = v.getFileItem().getFile();
                return file != null ? Files.readAllBytes(file) : v.getFileItem().getInputStream().readAllBytes();
            }
            return v.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "cannot read uploaded part '" + part + "'");
        }
    }

    private static long size(String name, FormValue v) {
        try {
            return v.isFileItem() ? v.getFileItem().getFileSize() : v.getValue().length();
        } catch (IOException e) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "cannot read uploaded part '" + name + "'");
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }
}
