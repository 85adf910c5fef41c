-- A deleted VM's theater can never prove a secret again: forget the digests kept for VMs already
-- deleted (from now on vmTransition forgets them when the VM becomes deleted).
DELETE FROM "cluster_keys" k
USING "vms" v
WHERE k."name" = 'theater-secrets:' || v."id"::text
  AND v."state" = 'deleted';
