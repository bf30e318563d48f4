package dev.quantflow.testsupport;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;

/** Events and inputs as the upstream stages would make them, for wiring tests. */
public final class TestJobs {

    private TestJobs() {
    }

    public static JobContext context(JobInputs inputs, String method, Recipe recipe) {
        return JobContext.newBuilder()
            .setInputs(inputs)
            .setPlan(JobPlan.newBuilder().setMethod(method).setRecipe(recipe).build())
            .build();
    }

    /** A {@code QuantizeRequested} for attempt 1 of the job, as calibration (or intake) publishes it. */
    public static QuantizeRequested quantize(String jobId, JobInputs inputs, String method, Recipe recipe,
                                             ArtifactRef statistics) {
        return QuantizeRequested.newBuilder()
            .setHeader(JobProbe.header(jobId, 1))
            .setContext(context(inputs, method, recipe))
            .setStatistics(statistics)
            .build();
    }

    /** The first {@code rows} samples of every array of an .npz (arrays with fewer rows are kept whole), as .npz bytes. */
    public static byte[] npzHead(Path npz, int rows) {
        NpzArchive in = NpzArchive.read(npz);
        List<NdArray> out = new ArrayList<>();
        for (String name : in.names()) {
            NdArray a = in.get(name).orElseThrow();
            if (a.rank() == 0 || a.rows() <= rows) {
                out.add(a);
                continue;
            }
            out.add(a.slice(0, rows));
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        NpzWriter.write(bytes, out, false);
        return bytes.toByteArray();
    }
}
