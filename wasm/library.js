// library.js — the functions the wasm module imports from the host (emcc --js-library).
// sc_host_fetch(image, group): bring an absent group of a lazy image (wasm/src/vfs_mem.h).
// This stand-in answers "cannot"; js-glue/core.js replaces the import with the real fetch,
// wrapped in WebAssembly.Suspending, where the browser has JSPI (it finds it by this name).
// getentropy(buffer, size): the whole buffer in one crypto.getRandomValues call (emscripten's
// own asks for one byte per call: 16 calls per id made).
mergeInto(LibraryManager.library, {
  sc_host_fetch: function (image, group) { return 1; },
  getentropy: function (buffer, size) {
    if (typeof crypto != 'object' || size > 256) return -1;
    crypto.getRandomValues(HEAPU8.subarray(buffer, buffer + size));
    return 0;
  },
});
