-- What similarity search, scaffold splits and unit conversion need on each molecule.
ALTER TABLE molecules
    -- Morgan radius 2, 2048 bits, little-endian 64-bit words: Tanimoto search without RDKit.
    ADD COLUMN morgan_fp bytea CHECK (octet_length(morgan_fp) = 256),
    ADD COLUMN murcko_scaffold text,
    -- g/mL at room temperature, for % v/v concentrations.
    ADD COLUMN density_g_per_ml double precision CHECK (density_g_per_ml > 0 AND density_g_per_ml < 30);
CREATE INDEX molecules_name_idx ON molecules (lower(name));
