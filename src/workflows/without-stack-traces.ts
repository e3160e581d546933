/**
 * Preloaded into the workflow sandbox when the worker's FLEETVIEW_WORKER_WORKFLOW_STACK_TRACES is
 * off (the default). The SDK records a stack trace for every promise a workflow creates, for the
 * Web UI's Stack Trace tab: an Error, its frames mapped through the bundle's source map, kept
 * while the promise is pending. At 1,000 clusters that was 16 to 21% of the worker's CPU
 * (docs/scaling.md). With no frames to capture the SDK records empty traces. The sandbox's
 * Error is frozen after the preload: this holds for every workflow of the worker, and no
 * workflow can change it.
 */
Error.stackTraceLimit = 0;

export {};
