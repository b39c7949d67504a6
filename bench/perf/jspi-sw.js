// jspi-sw.js — answers whether JSPI exists in a service worker (bench/perf/jspi.html).
self.onmessage = (e) => e.source.postMessage(typeof WebAssembly.Suspending === 'function' && typeof WebAssembly.promising === 'function');
