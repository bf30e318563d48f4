package dev.quantflow.runtime.calib;

/** Told after every batch how far a pass over the data has got. Called on the running thread; keep it cheap. */
@FunctionalInterface
public interface ProgressListener {

    /** A listener that ignores progress. */
    ProgressListener NONE = (done, total) -> { };

    /** @param samplesDone samples processed so far; reaches {@code samplesTotal} at the end */
    void onProgress(int samplesDone, int samplesTotal);
}
