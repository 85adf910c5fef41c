-- Each VM's actor count and ordinal range, kept by triggers on "actors" so that the topology
-- reads 1,000 rows instead of grouping 100,000 actors on every call.
ALTER TABLE "vms" ADD COLUMN "actor_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "first_ordinal" INTEGER,
ADD COLUMN "last_ordinal" INTEGER;

-- Recounts the given VMs from "actors". Statement-level (transition tables), so moving a batch
-- of actors costs one recount per VM involved, not one per actor. The VM rows are locked first
-- (in id order, so concurrent batches cannot deadlock on them) and the recount runs as a later
-- statement: under READ COMMITTED it then sees every batch that committed while we waited, and
-- two transactions moving actors into one VM cannot each write a count missing the other's.
-- The new counts are announced on the events channel (delivered at commit, in commit order), so
-- a topology page shows every batch of a Transfer arrive; past 50 VMs (a NOTIFY payload holds
-- 8,000 bytes) a plain topology event asks for a refetch instead.
CREATE FUNCTION "vms_recount_actors"(vm_ids UUID[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  changed JSONB;
BEGIN
  PERFORM 1 FROM "vms" WHERE "id" = ANY(vm_ids) ORDER BY "id" FOR NO KEY UPDATE;
  WITH updated AS (
    UPDATE "vms" v
       SET "actor_count" = s.n, "first_ordinal" = s.lo, "last_ordinal" = s.hi
      FROM (SELECT id.vm_id, count(a."uan")::int AS n, min(a."ordinal") AS lo, max(a."ordinal") AS hi
              FROM unnest(vm_ids) AS id(vm_id)
              LEFT JOIN "actors" a ON a."vm_id" = id.vm_id
             GROUP BY id.vm_id) s
     WHERE v."id" = s.vm_id
       AND (v."actor_count", v."first_ordinal", v."last_ordinal") IS DISTINCT FROM (s.n, s.lo, s.hi)
    RETURNING v."id", v."actor_count", v."first_ordinal", v."last_ordinal")
  SELECT jsonb_agg(jsonb_build_object('id', "id", 'actorCount', "actor_count", 'firstOrdinal', "first_ordinal",
                                      'lastOrdinal', "last_ordinal") ORDER BY "id")
    INTO changed FROM updated;
  IF changed IS NULL THEN
    RETURN;
  ELSIF jsonb_array_length(changed) <= 50 THEN
    PERFORM pg_notify('malleo_events', jsonb_build_object('type', 'actors', 'vms', changed)::text);
  ELSE
    PERFORM pg_notify('malleo_events', '{"type":"topology"}');
  END IF;
END $$;

CREATE FUNCTION "actors_recount_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "vms_recount_actors"(ARRAY(SELECT DISTINCT "vm_id" FROM new_rows));
  RETURN NULL;
END $$;

CREATE FUNCTION "actors_recount_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "vms_recount_actors"(ARRAY(SELECT DISTINCT "vm_id" FROM old_rows));
  RETURN NULL;
END $$;

-- Only rows whose VM or ordinal changed matter (an actor's other columns change too).
CREATE FUNCTION "actors_recount_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids UUID[];
BEGIN
  SELECT ARRAY(
    SELECT DISTINCT c."vm_id" FROM (
      (SELECT "uan", "vm_id", "ordinal" FROM old_rows EXCEPT SELECT "uan", "vm_id", "ordinal" FROM new_rows)
      UNION ALL
      (SELECT "uan", "vm_id", "ordinal" FROM new_rows EXCEPT SELECT "uan", "vm_id", "ordinal" FROM old_rows)
    ) c) INTO ids;
  IF cardinality(ids) > 0 THEN
    PERFORM "vms_recount_actors"(ids);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "actors_count_insert" AFTER INSERT ON "actors"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "actors_recount_inserted"();
CREATE TRIGGER "actors_count_delete" AFTER DELETE ON "actors"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "actors_recount_deleted"();
CREATE TRIGGER "actors_count_update" AFTER UPDATE ON "actors"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "actors_recount_updated"();

-- Existing actors.
UPDATE "vms" v
   SET "actor_count" = s.n, "first_ordinal" = s.lo, "last_ordinal" = s.hi
  FROM (SELECT "vm_id", count(*)::int AS n, min("ordinal") AS lo, max("ordinal") AS hi FROM "actors" GROUP BY "vm_id") s
 WHERE v."id" = s."vm_id";
