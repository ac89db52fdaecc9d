package serve

import "runtime/debug"

// giveBack hands the memory a spike of connections left behind back to the
// kernel. During a spike a loop borrows a buffer for every busy connection;
// after it, its pools keep no more than their budget, and then, once the loop
// has been quiet for sweepDelay, no more than a quiet loop needs
// (httpconn.Server.Trim) — the rest goes to the garbage collector. But
// letting go is not returning: with nothing allocating afterwards, the
// collector would not run for two minutes (the runtime's forced
// collection), and the process would keep its peak RSS. So the loop then
// asks for a collection and for the freed pages to go back to the kernel
// (madvise). It stops the world for a moment, which a quiet server does not
// notice, and it happens once per spike.
func giveBack() { debug.FreeOSMemory() }
