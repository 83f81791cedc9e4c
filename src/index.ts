// The public API of spikesift. Re-exports only.
export {};
