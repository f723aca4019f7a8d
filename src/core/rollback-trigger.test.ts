import { describe, expect, it } from 'vitest';
import { rollbackTriggerFor } from './rollback-trigger.js';

describe('rollbackTriggerFor', () => {
  it("names the seed's triggers", () => {
    expect(rollbackTriggerFor('SLW_ANALYSIS_CRITICAL', 'bake')).toBe('critical-check');
    expect(rollbackTriggerFor('SLW_ANALYSIS_DEGRADATION', 'bake')).toBe('degradation');
    expect(rollbackTriggerFor('SLW_STEP_FAILED', 'sarif')).toBe('security');
    expect(rollbackTriggerFor('SLW_STEP_FAILED', 'npm-audit')).toBe('security');
    expect(rollbackTriggerFor('SLW_STEP_FAILED', 'integrity')).toBe('integrity');
  });

  it('keeps the older names for everything else', () => {
    expect(rollbackTriggerFor('SLW_STEP_FAILED', 'smoke')).toBe('step-failed');
    expect(rollbackTriggerFor('SLW_STEP_TIMEOUT', undefined)).toBe('step-failed');
    expect(rollbackTriggerFor('SLW_STEP_INTERRUPTED', 'sarif')).toBe('interrupted');
    expect(rollbackTriggerFor('SLW_GATE_REJECTED', 'approval')).toBe('rejected');
    expect(rollbackTriggerFor('SLW_CANCELLED', undefined)).toBe('rejected');
  });
});
