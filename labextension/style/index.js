import './base.css';
import './notebook-calls.css';
