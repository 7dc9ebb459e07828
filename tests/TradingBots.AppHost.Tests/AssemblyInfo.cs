// One test class at a time: the AppHost's instance and a second AppHost run by ManifestTests would otherwise share the 2
// cores (and the dashboard test waits for telemetry that a starved exporter sends late).
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
