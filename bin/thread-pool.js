// Evaluated before the server's modules: libuv reads UV_THREADPOOL_SIZE when its pool first starts.
// Blob writes fsync on that pool, and the default of 4 threads would make concurrent uploads queue.
process.env.UV_THREADPOOL_SIZE ??= '16';
