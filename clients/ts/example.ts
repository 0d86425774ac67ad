// A small typed client of parleyd: make clients generates ./generated/parley.ts
// from the OpenAPI document (openapi-typescript) and type-checks this file
// with tsc (make test runs it).  A wrong field, a missing `as` or a body of
// the wrong shape is a compile error.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/parley";

export type Guest = components["schemas"]["Guest"];
export type Message = components["schemas"]["Message"];
export type Problem = components["schemas"]["Problem"];

export function parley(baseUrl: string, serviceKey: string) {
  return createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${serviceKey}` },
  });
}

// Metadata is any JSON object.
export async function createGuest(client: ReturnType<typeof parley>, id: string): Promise<Guest> {
  const { data, error } = await client.PUT("/v1/guests/{guest_id}", {
    params: { path: { guest_id: id } },
    body: { display_name: "Alice", metadata: { level: 3, tags: ["new"], nested: { ok: true } } },
  });
  if (error) throw new Error(`${error.status} ${error.code}: ${error.detail}`);
  return data;
}

export async function hello(client: ReturnType<typeof parley>, alice: string, bob: string): Promise<Message[]> {
  const conv = await client.POST("/v1/conversations", {
    params: { query: { as: alice } },
    body: { kind: "direct", participants: [bob] },
  });
  if (conv.error) throw new Error(conv.error.code);
  const cid: string = conv.data.id;

  const posted = await client.POST("/v1/conversations/{cid}/messages", {
    params: { path: { cid }, query: { as: alice } },
    body: { body: "Hello, Bob", client_msg_id: "m-1", metadata: { level: 3 } },
  });
  if (posted.error) {
    // 409 idempotency_conflict, 403 not_a_participant, ...: codes are typed
    const code: components["schemas"]["ErrorCode"] = posted.error.code;
    throw new Error(code);
  }
  const seq: number = posted.data.seq;

  await client.POST("/v1/conversations/{cid}/read", {
    params: { path: { cid }, query: { as: bob } },
    body: { seq },
  });
  const page = await client.GET("/v1/conversations/{cid}/messages", {
    params: { path: { cid }, query: { as: bob, limit: 50 } },
  });
  if (page.error) throw new Error(page.error.code);
  return page.data.messages;
}

export async function friendsOf(client: ReturnType<typeof parley>, guest: string): Promise<string[]> {
  const { data, error } = await client.GET("/v1/guests/{guest_id}/friends", {
    params: { path: { guest_id: guest }, query: { status: "incoming" } },
  });
  if (error) throw new Error(error.code);
  return data.friends.map((f) => `${f.other_id} (${f.status} since ${f.since})`);
}

// What the types refuse (each line must be a compile error, or tsc fails).
export async function refused(client: ReturnType<typeof parley>) {
  await client.PUT("/v1/guests/{guest_id}", {
    params: { path: { guest_id: "a" } },
    // @ts-expect-error display_name is a string
    body: { display_name: 1 },
  });
  await client.PUT("/v1/guests/{guest_id}", {
    params: { path: { guest_id: "a" } },
    // @ts-expect-error metadata is an object, not an array
    body: { display_name: "A", metadata: [1] },
  });
  await client.GET("/v1/conversations/{cid}", {
    // @ts-expect-error as is required
    params: { path: { cid: "x" }, query: {} },
  });
  await client.GET("/v1/guests/{guest_id}/friends", {
    // @ts-expect-error status is accepted, incoming or outgoing
    params: { path: { guest_id: "a" }, query: { status: "blocked" } },
  });
}
