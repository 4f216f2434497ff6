// A broadcast's parameters are checked before anything is written, as Meta would refuse them (132018).
import { describe, expect, it } from 'vitest';
import { loadCitizenService } from '../../src/citizen/service/index.js';
import { whatsappSchema } from '../../src/config/schema.js';
import { validateBroadcast, type BroadcastRequest } from '../../src/broadcast/validate.js';

const service = loadCitizenService('config/citizen-service.yaml').service;
const templates = whatsappSchema.shape.templates.parse({ allerta_meteo: { category: 'utility', params: 1 } });
const alert = (params: string[]): BroadcastRequest => ({ key: 'k', topic: 'meteo', template: 'allerta_meteo', params, source: 'test' });

describe('validateBroadcast: parameters', () => {
  it('accepts one line of text', () => {
    expect(validateBroadcast(alert(['Allerta gialla per vento forte fino alle 20']), service, templates).topic.id).toBe('meteo');
  });

  it('refuses what Meta refuses: a line break of any kind (a Windows CR too), a tab, five spaces, nothing', () => {
    for (const p of ['Allerta gialla\r per vento', 'Allerta\ngialla', 'Allerta\tgialla', 'Allerta     gialla', '  ']) {
      expect(() => validateBroadcast(alert([p]), service, templates), JSON.stringify(p)).toThrow(/params\[0\]: must be non-empty, without new lines/);
    }
  });
});
