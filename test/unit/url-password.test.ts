import { afterEach, describe, expect, it } from 'vitest';
import { connectableUrl, isPostgresUrl, storableUrl, withoutPasswords } from '../../src/db/url-password.ts';

const ENV = 'BELLOWS_TEST_URL_PASSWORD';

describe('replica URLs in the state store', () => {
  afterEach(() => {
    delete process.env[ENV];
  });

  it('are stored without their password, in the user part or in ?password=', () => {
    expect(storableUrl('postgres://app:s3cret@replica:5432/prod?sslmode=require')).toBe('postgres://app:***@replica:5432/prod?sslmode=require');
    expect(storableUrl('postgresql://app@replica/prod?password=s3cret&sslmode=require')).toBe('postgresql://app:***@replica/prod?sslmode=require');
    expect(storableUrl('postgres://app@replica/prod')).toBe('postgres://app@replica/prod');
    const settings = { batchSize: 1, replicaUrls: ['postgres://a:one@h1/db', 'postgres://b@h2/db'] };
    expect(withoutPasswords(settings)).toEqual({
      batchSize: 1,
      replicaUrls: ['postgres://a:***@h1/db', 'postgres://b@h2/db'],
    });
    const none: { batchSize: number; replicaUrls?: string[] } = { batchSize: 1 };
    expect(withoutPasswords(none)).toBe(none);
  });

  it('get their password back in the process that was given it, special characters and all', () => {
    const stored = storableUrl('postgres://given:p%40ss%3Aw0rd%2F@replica-a/prod');
    expect(stored).toBe('postgres://given:***@replica-a/prod');
    expect(connectableUrl(stored, ENV)).toBe('postgres://given:p%40ss%3Aw0rd%2F@replica-a/prod');
  });

  it('elsewhere take it from the environment, or are not connectable at all', () => {
    const stored = 'postgres://other:***@replica-b/prod';
    expect(connectableUrl(stored, ENV)).toBeNull();
    process.env[ENV] = 'p@ss:w/rd';
    expect(decodeURIComponent(new URL(connectableUrl(stored, ENV)!).password)).toBe('p@ss:w/rd');
    // A URL stored without a password is left to PGPASSWORD and ~/.pgpass, as libpq does.
    expect(connectableUrl('postgres://other@replica-b/prod', ENV)).toBe('postgres://other@replica-b/prod');
  });

  it('storing a stored URL again changes nothing', () => {
    const once = storableUrl('postgres://app:s3cret@replica-c/prod');
    expect(storableUrl(once)).toBe(once);
    expect(connectableUrl(once, ENV)).toBe('postgres://app:s3cret@replica-c/prod');
  });

  it('only postgres URLs are accepted', () => {
    expect(isPostgresUrl('postgres://h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://h/db')).toBe(true);
    expect(isPostgresUrl('host=replica password=x')).toBe(false);
    expect(isPostgresUrl('http://h/db')).toBe(false);
  });
});
