package dev.quantflow.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;

/**
 * The module boundaries of quantflow as executable rules, over the main classes of every lib and service on this
 * module's test class path (test classes are left out: a test may wire several modules together).
 */
@AnalyzeClasses(packages = "dev.quantflow", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureRulesTest {

    /** The math and model libraries: libs/onnx, quant-core, runtime, qat, and the contracts module. */
    static final String[] MATH_LIBRARIES = {
        "dev.quantflow.onnx..", "dev.quantflow.quant..", "dev.quantflow.runtime..", "dev.quantflow.qat..",
        "dev.quantflow.contracts.."};

    /** The root package of each service app; the quantizer apps are the sub-packages of {@code dev.quantflow.quantizer}. */
    static final List<String> SERVICE_PACKAGES = List.of("dev.quantflow.intake", "dev.quantflow.calibration",
        "dev.quantflow.validator", "dev.quantflow.exporter", "dev.quantflow.profiler");
    static final String QUANTIZER_PACKAGE = "dev.quantflow.quantizer";

    @ArchTest
    static final ArchRule workerKitHasNoMath = noClasses().that().resideInAPackage("dev.quantflow.pipeline..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.quantflow.quant..", "dev.quantflow.runtime..",
            "dev.quantflow.qat..")
        .because("libs/pipeline is the stage-worker kit every service shares (Avro, store, worker, Quarkus wiring); "
            + "stage logic that needs quantizers or ONNX Runtime belongs in its service, or every service and the CLI "
            + "would carry the math and ONNX Runtime");

    @ArchTest
    static final ArchRule mathHasNoInfrastructure = noClasses().that().resideInAnyPackage(MATH_LIBRARIES)
        .should().dependOnClassesThat().resideInAnyPackage("io.quarkus..", "jakarta.enterprise..",
            "org.apache.kafka..", "io.minio..")
        .because("the math libraries are plain Java, testable and benchmarkable without a container, a broker or a "
            + "store; messaging, CDI and S3 live in libs/pipeline and the services");

    @ArchTest
    static final ArchRule servicesAreIndependent = slices().assignedFrom(new ServiceSlices())
        .should().notDependOnEachOther()
        .because("services talk only through Avro events on Kafka and artifacts in the store; shared code goes in a "
            + "lib, so each service can be built, deployed and scaled on its own");

    /** Every rule above would pass on an empty import: check that each module's classes were found. */
    @ArchTest
    static void everyModuleIsOnTheClassPath(JavaClasses classes) {
        List<String> packages = List.of("dev.quantflow.contracts", "dev.quantflow.onnx", "dev.quantflow.quant", "dev.quantflow.runtime",
            "dev.quantflow.qat", "dev.quantflow.pipeline", "dev.quantflow.intake", "dev.quantflow.calibration",
            "dev.quantflow.quantizer.staticptq", "dev.quantflow.quantizer.dynamic", "dev.quantflow.quantizer.cast",
            "dev.quantflow.quantizer.llm", "dev.quantflow.quantizer.qat", "dev.quantflow.validator",
            "dev.quantflow.exporter", "dev.quantflow.profiler");
        for (String p : packages) {
            assertThat(classes.stream().anyMatch(c -> inPackage(c, p))).as("classes of %s imported", p).isTrue();
        }
    }

    /** One slice per service: intake, calibration, validator, exporter, profiler, and quantizer-&lt;method&gt;. */
    static final class ServiceSlices implements SliceAssignment {

        @Override
        public SliceIdentifier getIdentifierOf(JavaClass c) {
            Optional<String> service = SERVICE_PACKAGES.stream().filter(p -> inPackage(c, p)).findFirst();
            if (service.isPresent()) {
                return SliceIdentifier.of(service.get().substring("dev.quantflow.".length()));
            }
            String pkg = c.getPackageName();
            if (pkg.startsWith(QUANTIZER_PACKAGE + ".")) {
                String app = pkg.substring(QUANTIZER_PACKAGE.length() + 1).split("\\.")[0];
                return SliceIdentifier.of("quantizer-" + app);
            }
            return SliceIdentifier.ignore();
        }

        @Override
        public String getDescription() {
            return "services (intake, calibration, quantizer-<method>, validator, exporter, profiler)";
        }
    }

    static boolean inPackage(JavaClass c, String pkg) {
        return c.getPackageName().equals(pkg) || c.getPackageName().startsWith(pkg + ".");
    }
}
