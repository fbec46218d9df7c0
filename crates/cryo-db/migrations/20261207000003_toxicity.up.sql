-- Toxicity (#25): the assay data model. Reference tables (sources, endpoints, assays and which
-- endpoint each assay informs) are readable by everyone and written by service_role; measured
-- activities are research rows: the importer's own, readable with the molecule when it is the
-- importer's molecule and shared, and public when imported as reference data (created_by NULL).
-- Scores are computed from activities on read (cryo-core::toxicity), so they cannot go stale.
-- Privileges and policies are the next migration (a policy set `db rls apply` re-runs).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE toxicity_sources (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CONSTRAINT toxicity_sources_name_key UNIQUE
                CHECK (length(name) BETWEEN 1 AND 200),
    description text,
    url         text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE toxicity_endpoints (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CONSTRAINT toxicity_endpoints_name_key UNIQUE
                CHECK (name IN ('nuclear_receptor', 'stress_response', 'dna_damage', 'cell_cycle', 'apoptosis',
                                'mitochondrial_function', 'enzyme_inhibition', 'cell_signaling', 'immunotoxicity',
                                'neurotoxicity', 'developmental_toxicity', 'other')),
    description text
);

CREATE TABLE toxicity_assays (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_id   uuid NOT NULL REFERENCES toxicity_sources (id) ON DELETE CASCADE,
    assay_key   text NOT NULL CHECK (length(assay_key) BETWEEN 1 AND 200),
    name        text NOT NULL,
    description text,
    CONSTRAINT toxicity_assays_source_key UNIQUE (source_id, assay_key)
);

CREATE TABLE toxicity_assay_endpoints (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assay_id    uuid NOT NULL REFERENCES toxicity_assays (id) ON DELETE CASCADE,
    endpoint_id uuid NOT NULL REFERENCES toxicity_endpoints (id) ON DELETE CASCADE,
    relevance   double precision NOT NULL DEFAULT 1 CHECK (relevance > 0 AND relevance <= 1),
    CONSTRAINT toxicity_assay_endpoints_pair_key UNIQUE (assay_id, endpoint_id)
);
CREATE INDEX toxicity_assay_endpoints_endpoint_idx ON toxicity_assay_endpoints (endpoint_id);

CREATE TABLE toxicity_activities (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    molecule_id   uuid NOT NULL REFERENCES molecules (id) ON DELETE CASCADE,
    assay_id      uuid NOT NULL REFERENCES toxicity_assays (id) ON DELETE CASCADE,
    hit_call      boolean,
    activity_type text CHECK (activity_type IN ('AC50', 'IC50', 'EC50')),
    potency       double precision CHECK (potency > 0 AND potency < 'Infinity'),
    potency_unit  text CHECK (potency_unit IN ('M', 'mM', 'uM', 'nM')),
    reliability   double precision NOT NULL DEFAULT 1 CHECK (reliability >= 0 AND reliability <= 1),
    provenance    text CHECK (length(provenance) <= 1000),
    created_by    uuid REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT toxicity_activities_measured CHECK (hit_call IS NOT NULL OR potency IS NOT NULL),
    CONSTRAINT toxicity_activities_potency_unit CHECK ((potency IS NULL) = (potency_unit IS NULL)),
    CONSTRAINT toxicity_activities_one_per_owner UNIQUE NULLS NOT DISTINCT (molecule_id, assay_id, created_by)
);
CREATE INDEX toxicity_activities_assay_idx ON toxicity_activities (assay_id);
CREATE INDEX toxicity_activities_created_by_idx ON toxicity_activities (created_by);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON toxicity_activities FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Reference data: the twelve endpoints the scores group by, and the Tox21 Data Challenge assays
-- of MoleculeNet's tox21.csv with the endpoint each informs.
INSERT INTO toxicity_endpoints (name, description) VALUES
    ('nuclear_receptor', 'Nuclear receptor signalling (androgen, estrogen, aryl hydrocarbon, PPAR-gamma, aromatase)'),
    ('stress_response', 'Cellular stress responses (oxidative stress, heat shock)'),
    ('dna_damage', 'Genotoxicity and DNA damage response'),
    ('cell_cycle', 'Cell-cycle disruption'),
    ('apoptosis', 'Programmed cell death'),
    ('mitochondrial_function', 'Mitochondrial membrane potential and respiration'),
    ('enzyme_inhibition', 'Enzyme inhibition'),
    ('cell_signaling', 'Cell signalling'),
    ('immunotoxicity', 'Immune system toxicity'),
    ('neurotoxicity', 'Nervous system toxicity'),
    ('developmental_toxicity', 'Developmental toxicity'),
    ('other', 'Assays not mapped to a specific endpoint');
INSERT INTO toxicity_sources (name, description, url) VALUES
    ('Tox21', 'Tox21 Data Challenge 2014 (NIH/EPA/FDA), as distributed by MoleculeNet',
     'https://tripod.nih.gov/tox21/challenge/');
INSERT INTO toxicity_assays (source_id, assay_key, name)
SELECT s.id, a.key, a.name
FROM toxicity_sources s,
     (VALUES ('NR-AR', 'Androgen receptor, full length'),
             ('NR-AR-LBD', 'Androgen receptor, ligand-binding domain'),
             ('NR-AhR', 'Aryl hydrocarbon receptor'),
             ('NR-Aromatase', 'Aromatase inhibition'),
             ('NR-ER', 'Estrogen receptor alpha, full length'),
             ('NR-ER-LBD', 'Estrogen receptor alpha, ligand-binding domain'),
             ('NR-PPAR-gamma', 'Peroxisome proliferator-activated receptor gamma'),
             ('SR-ARE', 'Antioxidant response element'),
             ('SR-ATAD5', 'ATAD5 genotoxicity'),
             ('SR-HSE', 'Heat shock factor response element'),
             ('SR-MMP', 'Mitochondrial membrane potential'),
             ('SR-p53', 'p53 DNA damage response')) AS a (key, name)
WHERE s.name = 'Tox21';
INSERT INTO toxicity_assay_endpoints (assay_id, endpoint_id)
SELECT a.id, e.id
FROM toxicity_assays a
JOIN toxicity_endpoints e ON e.name = CASE
    WHEN a.assay_key LIKE 'NR-%' THEN 'nuclear_receptor'
    WHEN a.assay_key IN ('SR-ARE', 'SR-HSE') THEN 'stress_response'
    WHEN a.assay_key IN ('SR-ATAD5', 'SR-p53') THEN 'dna_damage'
    WHEN a.assay_key = 'SR-MMP' THEN 'mitochondrial_function'
END;
