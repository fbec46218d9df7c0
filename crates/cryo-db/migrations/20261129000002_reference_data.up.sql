-- Reference data every installation needs: the property types and calculation methods that the
-- application stores values under. The original never seeded the names its code wrote; these are
-- exactly the names CryoProtect writes. Idempotent so it is safe on a database seeded by hand.
INSERT INTO property_types (name, description, units, data_type) VALUES
    ('Molecular Weight', 'Average molecular weight', 'g/mol', 'numeric'),
    ('LogP', 'Crippen octanol/water partition coefficient', NULL, 'numeric'),
    ('TPSA', 'Topological polar surface area', 'Å²', 'numeric'),
    ('H-Bond Donors', 'Lipinski hydrogen-bond donors', 'count', 'numeric'),
    ('H-Bond Acceptors', 'Lipinski hydrogen-bond acceptors', 'count', 'numeric'),
    ('Toxicity', 'Measured or assessed toxicity', NULL, 'text'),
    ('Stability', 'Stability assessment', NULL, 'text'),
    ('Environmental Safety', 'Environmental safety assessment', NULL, 'text'),
    ('Cryoprotection Score', 'Molecule cryoprotection score (0-100)', 'score', 'numeric'),
    ('Cryoprotection Hydrogen Bonding Score', 'Score component: hydrogen bonding', 'score', 'numeric'),
    ('Cryoprotection Logp Score', 'Score component: logP', 'score', 'numeric'),
    ('Cryoprotection Size Score', 'Score component: molecular size', 'score', 'numeric'),
    ('Cryoprotection Tpsa Score', 'Score component: TPSA', 'score', 'numeric'),
    ('Cryoprotection Functional Groups Score', 'Score component: functional groups', 'score', 'numeric'),
    ('Cryoprotection Permeability Score', 'Score component: permeability', 'score', 'numeric'),
    ('Mixture Cryoprotection Score', 'Mixture score (0-100) after unit normalisation', 'score', 'numeric'),
    ('Glass Transition Temperature', 'Tg', '°C', 'numeric'),
    ('Vitrification Tendency', 'Tendency to vitrify rather than crystallise (0-1)', 'fraction', 'numeric'),
    ('Cell Membrane Protection', 'Membrane protection score', 'score', 'numeric'),
    ('Protein Stabilization', 'Protein stabilisation score', 'score', 'numeric'),
    ('Cell Viability', 'Post-thaw viability', '%', 'numeric'),
    ('Ice Recrystallization Inhibition', 'IRI activity (mean grain size relative to control)', '%', 'numeric'),
    ('Melting Point', 'Melting point', '°C', 'numeric'),
    ('Boiling Point', 'Boiling point', '°C', 'numeric'),
    ('Hydration Free Energy', 'Experimental hydration free energy', 'kcal/mol', 'numeric'),
    ('Aqueous Solubility', 'log10 of molar aqueous solubility (logS)', 'log mol/L', 'numeric')
ON CONFLICT (name) DO NOTHING;

INSERT INTO calculation_methods (name, version, description) VALUES
    ('RDKit Descriptors', '1', 'Descriptors computed by RDKit on the hydrogen-explicit molecule'),
    ('CryoProtect Scoring', '1', 'Piecewise cryoprotection score, weights 0.25/0.15/0.15/0.15/0.20/0.10'),
    ('Experimental Validation', '1', 'Values measured in a laboratory'),
    ('PubChem Properties', '1', 'Values imported from PubChem'),
    ('CryoProtect Model', '1', 'Predictions by a registered CryoProtect model version')
ON CONFLICT (name, version) DO NOTHING;
