import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../src/db/redact.ts';

describe('redactUrl', () => {
  it('hides the password and keeps everything else', () => {
    expect(redactUrl('postgres://app:s3cret@db.example.com:5432/prod?sslmode=require')).toBe(
      'postgres://app:***@db.example.com:5432/prod?sslmode=require',
    );
  });

  it('hides passwords with URL-special characters', () => {
    const out = redactUrl('postgresql://app:p%40ss%3Aw0rd@db/prod');
    expect(out).toBe('postgresql://app:***@db/prod');
    expect(out).not.toContain('w0rd');
  });

  it('leaves a URL without a password as it was', () => {
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
  });

  it('still hides the password of a string URL parsing rejects', () => {
    const out = redactUrl('postgres://app:s3cret@bad host/prod');
    expect(out).not.toContain('s3cret');
    expect(out).toContain('app:***@');
  });
});

describe('redactText', () => {
  it('scrubs every connection string in a message', () => {
    const text = 'connect to postgres://a:one@h1/db failed; fallback postgresql://b:two@h2:6432/db failed too';
    const out = redactText(text);
    expect(out).toBe('connect to postgres://a:***@h1/db failed; fallback postgresql://b:***@h2:6432/db failed too');
  });

  it('leaves text without a password alone', () => {
    const text = 'relation "users" does not exist; url postgres://postgres@localhost/db';
    expect(redactText(text)).toBe(text);
  });
});
