-- Back to policies alone: readers may reference rows, editors may change visibility.
DROP TRIGGER IF EXISTS guard_ownership ON projects;
DROP TRIGGER IF EXISTS guard_ownership ON molecules;
DROP TRIGGER IF EXISTS guard_ownership ON mixtures;
DROP TRIGGER IF EXISTS guard_ownership ON experiments;
DROP TRIGGER IF EXISTS guard_ownership ON predictions;
DROP TRIGGER IF EXISTS guard_ownership ON protocols;
DROP TRIGGER IF EXISTS guard_ownership ON models;
DROP TRIGGER IF EXISTS guard_references ON mixture_components;
DROP TRIGGER IF EXISTS guard_references ON experiments;
DROP TRIGGER IF EXISTS guard_references ON predictions;
DROP TRIGGER IF EXISTS guard_references ON protocols;
DROP FUNCTION IF EXISTS app.guard_ownership();
DROP FUNCTION IF EXISTS app.guard_references();
DROP FUNCTION IF EXISTS app.can_reference_molecule(uuid);
