/** Internal keys shared between the pool and the batch APIs (not exported from the package). */
export const kSubmit: unique symbol = Symbol('ringpool.submit');
