-- Removes only the seeded reference rows that nothing references any more.
DELETE FROM calculation_methods c
WHERE (c.name, c.version) IN (('RDKit Descriptors', '1'), ('CryoProtect Scoring', '1'),
        ('Experimental Validation', '1'), ('PubChem Properties', '1'), ('CryoProtect Model', '1'))
  AND NOT EXISTS (SELECT 1 FROM molecular_properties p WHERE p.calculation_method_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.calculation_method_id = c.id);

DELETE FROM property_types t
WHERE t.name IN ('Molecular Weight', 'LogP', 'TPSA', 'H-Bond Donors', 'H-Bond Acceptors', 'Toxicity',
        'Stability', 'Environmental Safety', 'Cryoprotection Score', 'Cryoprotection Hydrogen Bonding Score',
        'Cryoprotection Logp Score', 'Cryoprotection Size Score', 'Cryoprotection Tpsa Score',
        'Cryoprotection Functional Groups Score', 'Cryoprotection Permeability Score',
        'Mixture Cryoprotection Score', 'Glass Transition Temperature', 'Vitrification Tendency',
        'Cell Membrane Protection', 'Protein Stabilization', 'Cell Viability',
        'Ice Recrystallization Inhibition', 'Melting Point', 'Boiling Point', 'Hydration Free Energy',
        'Aqueous Solubility')
  AND NOT EXISTS (SELECT 1 FROM molecular_properties p WHERE p.property_type_id = t.id)
  AND NOT EXISTS (SELECT 1 FROM experiments e WHERE e.property_type_id = t.id)
  AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.property_type_id = t.id);
