import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LR_TEXT_KEY, lrMetadataText, readLrMetadata } from './lr-metadata.js';
import { lrMetadataJpegComment, lrMetadataXmp, readLrMetadataJpegComments, readLrMetadataXmp } from './lr-formats.js';

const read = (json: string) => readLrMetadata({ [LR_TEXT_KEY]: json });

describe('LR metadata: model', () => {
  it('round-trips the preset an LR was made for, in the PNG text, the WebP XMP and the JPEG comment', () => {
    const meta = { scale: 2, width: 33, height: 27, model: 'irn-x2-jpeg' };
    assert.equal(lrMetadataText(meta), '{"scale":2,"width":33,"height":27,"model":"irn-x2-jpeg"}');
    assert.deepEqual(read(lrMetadataText(meta)), meta);
    assert.deepEqual(readLrMetadataXmp(lrMetadataXmp(meta)), meta);
    assert.deepEqual(readLrMetadataJpegComments([lrMetadataJpegComment(meta)]), meta);
  });

  it('writes and reads no model when there is none (LRs made with a model given by path, and older LRs)', () => {
    const meta = { scale: 4, width: 10, height: 9 };
    assert.equal(lrMetadataText(meta), '{"scale":4,"width":10,"height":9}');
    assert.deepEqual(read('{"scale":4,"width":10,"height":9}'), meta);
    assert.equal('model' in read('{"scale":4,"width":10,"height":9}')!, false);
  });

  it('ignores keys it does not know', () => {
    assert.deepEqual(read('{"scale":2,"width":4,"height":4,"model":"irn-x2","quality":70,"note":{"a":1}}'), { scale: 2, width: 4, height: 4, model: 'irn-x2' });
  });

  it('refuses a model that is not a plain preset name, in one line', () => {
    for (const bad of ['"../../etc/passwd"', '"https://evil.example/model.json"', '"IRN-X2"', '""', '"-x2"', '2', 'null', '["irn-x2"]', `"${'a'.repeat(65)}"`, '"irn x2"', '"irn-x2\\n"']) {
      assert.throws(
        () => read(`{"scale":2,"width":4,"height":4,"model":${bad}}`),
        (e: Error) => /names the model .*which is not a preset name/.test(e.message) && !e.message.includes('\n'),
        bad,
      );
    }
    assert.deepEqual(read(`{"scale":2,"width":4,"height":4,"model":"${'a'.repeat(64)}"}`)?.model, 'a'.repeat(64));
  });

  it('lrMetadataText refuses to write a model that readers would refuse', () => {
    assert.throws(() => lrMetadataText({ scale: 2, width: 4, height: 4, model: 'weights/irn-x2' }), /preset name/);
  });
});
