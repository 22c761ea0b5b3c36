import _assert from 'node:assert/strict';
import {
    describe,
    it
} from 'node:test';
import {
    importBuiltin
} from './builtins.mjs';

const _later = await importBuiltin('isotropic-later');

describe('isotropic-later', () => {
    it('runs a callback later and reports completion', async () => {
        let ran = false;

        const handle = _later(5, () => {
            ran = true;
        });

        _assert.equal(handle.completed, false);
        _assert.equal(handle.hasRef(), true);
        await new Promise(resolve => {
            setTimeout(resolve, 30);
        });
        _assert.equal(ran, true);
        _assert.equal(handle.completed, true);
        _assert.equal(handle.hasRef(), false);
    });

    it('can be cancelled, repeatedly', async () => {
        let ran = false;

        const handle = _later(5, () => {
            ran = true;
        });

        _assert.equal(handle.cancel(), handle);
        _assert.equal(handle.cancel(), handle);
        _assert.equal(handle.cancelled, true);
        _assert.equal(handle.hasRef(), false);
        await new Promise(resolve => {
            setTimeout(resolve, 30);
        });
        _assert.equal(ran, false);
    });

    it('orders asap (microtask) before soon (immediate) before a timeout, none before it returns', async () => {
        const order = [];

        _later(15, () => order.push('timeout'));
        _later.soon(() => order.push('soon'));
        _later.asap(() => order.push('asap'));
        _later(-5, () => order.push('negative'));
        order.push('sync');
        await new Promise(resolve => {
            setTimeout(resolve, 60);
        });
        _assert.deepEqual(order, [
            'sync',
            'asap',
            'negative',
            'soon',
            'timeout'
        ]);
    });

    it('cancels asap and soon tasks', async () => {
        let ran = false;

        _later.asap(() => {
            ran = true;
        }).cancel();
        _later.soon(() => {
            ran = true;
        }).cancel();
        await new Promise(resolve => {
            setTimeout(resolve, 10);
        });
        _assert.equal(ran, false);
    });

    it('is a cancellable promise without a callback', async () => {
        const handle = _later(1);

        _assert.ok(handle instanceof Promise);
        _assert.equal(typeof handle.cancel, 'function');
        _assert.equal(await handle, undefined);
        _assert.equal(handle.completed, true);
    });

    it('supports ref and unref', () => {
        const handle = _later(1000, () => {});

        _assert.equal(handle.unref(), handle);
        _assert.equal(handle.hasRef(), false);
        _assert.equal(handle.ref(), handle);
        _assert.equal(handle.hasRef(), true);
        handle.cancel();
    });
});
