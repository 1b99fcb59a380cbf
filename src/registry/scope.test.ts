import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeScopes, parseScope, repositoryScope, scopesCover, splitScopes } from './scope.js';

test('repository scopes for pull and push', () => {
  assert.equal(repositoryScope('library/nginx', ['pull']), 'repository:library/nginx:pull');
  assert.equal(repositoryScope('a/b', ['pull', 'push']), 'repository:a/b:pull,push');
});

test('parses names holding a host:port, and the deprecated (plugin) class', () => {
  assert.deepEqual(parseScope('repository:localhost:5000/x/y:pull,push'), {
    type: 'repository',
    name: 'localhost:5000/x/y',
    actions: ['pull', 'push'],
  });
  assert.deepEqual(parseScope('repository(plugin):a/b:pull'), {
    type: 'repository',
    name: 'a/b',
    actions: ['pull'],
  });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.equal(parseScope('nonsense'), undefined);
});

test('merge puts the challenged scope first and unions actions of the same resource', () => {
  assert.deepEqual(mergeScopes(['repository:b:pull'], ['repository:a:pull']), [
    'repository:b:pull',
    'repository:a:pull',
  ]);
  assert.deepEqual(mergeScopes(['repository:a:push'], ['repository:a:pull', 'repository:m:pull']), [
    'repository:a:push,pull',
    'repository:m:pull',
  ]);
  assert.deepEqual(splitScopes('repository:a:pull  repository:b:pull'), [
    'repository:a:pull',
    'repository:b:pull',
  ]);
  assert.ok(scopesCover(['repository:a:pull,push'], ['repository:a:pull']));
  assert.ok(!scopesCover(['repository:a:pull'], ['repository:a:push']));
});
