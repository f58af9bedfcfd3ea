// Preloaded with --require: writes this process's own CPU time and peak RSS to $BENCH_RUSAGE_FILE at exit.
process.on('exit', () => require('fs').writeFileSync(process.env.BENCH_RUSAGE_FILE, JSON.stringify(process.resourceUsage())));
