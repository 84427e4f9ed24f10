// The demo grows with the runtime; until the worker moves records end to end it says so.
console.log('tributary demo: not yet — the runtime that moves records is being built (see README).');
