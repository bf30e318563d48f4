package dev.quantflow.it;

import dev.quantflow.cli.local.LocalCluster;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreSettings;

/** What every integration test opens against a started {@link LocalCluster}, and closes again. */
final class ItCluster {

    private ItCluster() {
    }

    /** A client of the cluster's S3 server, with the credentials and bucket the services use. */
    static ArtifactStore store(LocalCluster cluster) {
        return new ArtifactStore(new StoreSettings(cluster.s3Endpoint(), LocalCluster.ACCESS_KEY, LocalCluster.SECRET_KEY,
            LocalCluster.BUCKET, null));
    }

    /** Closes what was opened, in the given order, skipping what was never opened (a failed start). */
    static void closeAll(AutoCloseable... resources) throws Exception {
        for (AutoCloseable r : resources) {
            if (r != null) {
                r.close();
            }
        }
    }
}
